"""Play a learner's session with studybot in the fake Discord, then render and screenshot what the bot sent.

    .venv/bin/python tools/discord_transcript.py --out /tmp/transcript [--light]
    .venv/bin/python tools/discord_transcript.py --out /tmp/transcript --light --from /tmp/transcript/session.json

It starts the loopback fake Discord of the tests (tests/discord/fake_discord.py: the real discord.py
client, pointed at it) and a StudyBot built the way `studybot run` builds one: the normal settings
(.env, STUDYBOT_*) and data folder with the knowledge base ingested (run `studybot ingest` first), but
a fresh SQLite database in a temporary folder. In the fake's default server ("Study Group": #general,
#study, Ada Admin, Ben Student), Ben then asks three questions, takes a quiz (one right, one wrong,
Next, results), runs /quiz review, goes through flashcards (Show answer, Good, Again, Stop, /cards to
carry on), does a solo mock interview (a good answer, a poor one, End interview) and a group one with
Ada, and looks at /progress, /leaderboard and /reminders. A command the bot does not offer is skipped
and noted.

Every message the bot sent is kept in each state it went through (the "thinking" placeholder, every
edit; ephemeral ones marked), with what the learners did in between, and rendered in Discord's dark
theme (--light: the light one) to DIR/transcript.html; headless Chromium screenshots it to
DIR/NN-<section>[-k].png, one or more per section. DIR/session.json keeps the raw messages: --from
renders it again (another theme, say) without playing a new session.

Exit status 1, with the reason, when the bot logs an error or a step gets no reply (what was
recorded until then is still rendered); 2 when it cannot start (no knowledge base, no Chromium).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import html
import json
import logging
import re
import subprocess
import sys
import tempfile
import traceback
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_services, install_worker_pool  # noqa: E402
from bot.discord_app.client import StudyBot, build_bot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.study.banks import QuizType  # noqa: E402
from bot.study.quiz import LETTERS  # noqa: E402
from tests.discord.fake_discord import (  # noqa: E402
    GUILD_ID,
    VALID_TOKEN,
    FakeChannel,
    FakeDiscord,
    FakeInteraction,
    FakeUser,
)

JSON = dict[str, Any]
CHROMIUM = Path("/usr/bin/chromium")
STEP_DEADLINE = 240.0  # seconds one step may take: the first answer loads the model, and the machine is shared
EPHEMERAL, LOADING = 1 << 6, 1 << 7
MODAL = 9  # the interaction callback that opens a form
WATCHED_LOGGERS = ("discord", "bot", "aiohttp", "asyncio")


class StepFailed(Exception):
    """The session could not go on: the bot logged an error, or did not answer as expected."""


class SetupError(Exception):
    """The tool cannot start: said to the user as is, exit status 2."""


# --------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One item of the transcript, in the order it happened."""

    section: str
    kind: str  # "message" (a state of a message), "action" (what a learner did), "modal" (a form), "note"
    text: str = ""
    message: JSON = field(default_factory=dict)
    where: str = ""  # the channel, for a message
    state: int = 1  # 1: as created, then one more for every edit


class RecordingDiscord(FakeDiscord):
    """The fake Discord, keeping a copy of every message when it is created and after each edit.

    It hooks the fake's two internal places every message passes through (`_store_message`,
    `_edit_message`): intermediate states, such as a "thinking" placeholder, are otherwise gone.
    """

    def __init__(self) -> None:
        super().__init__(token=VALID_TOKEN, privileged_intents=["message_content"])
        self.entries: list[Entry] = []
        self.section = ""
        self._states: dict[str, int] = {}

    def add(self, kind: str, text: str = "", message: JSON | None = None) -> None:
        self.entries.append(Entry(self.section, kind, text, message or {}))

    def _store_message(self, msg: JSON, channel: FakeChannel) -> None:
        super()._store_message(msg, channel)
        self._keep(msg)

    def _edit_message(self, msg: JSON, payload: JSON, files: list[Any]) -> JSON:
        edited = super()._edit_message(msg, payload, files)
        self._keep(edited)
        return edited

    def _keep(self, msg: JSON) -> None:
        state = self._states[msg["id"]] = self._states.get(msg["id"], 0) + 1
        entry = Entry(self.section, "message", message=copy.deepcopy(msg), where=self.where(msg), state=state)
        self.entries.append(entry)

    def where(self, msg: JSON) -> str:
        channel = self.channel(int(msg["channel_id"]))
        if channel is None:
            return "?"
        if channel.type == 1:
            return "Direct message"
        parent = self.channel(channel.parent_id) if channel.parent_id else None
        return f"#{parent.name} › {channel.name}" if channel.is_thread and parent else f"#{channel.name}"


class ErrorWatch(logging.Handler):
    """ERROR records of discord.py and the bot: each one fails the run (the fake's waits fail at once)."""

    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__(logging.ERROR)
        self.fake = fake
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + "".join(traceback.format_exception(record.exc_info[1]))
        self.errors.append(text)
        self.fake.report_error(text)


# --------------------------------------------------------------------------------------------
# Playing the session
# --------------------------------------------------------------------------------------------


def _buttons(message: JSON) -> list[JSON]:
    return [c for row in message.get("components", []) for c in row.get("components", []) if c.get("type") == 2]


def _custom_ids(message: JSON) -> list[str]:
    return [
        c["custom_id"] for row in message.get("components", []) for c in row.get("components", []) if "custom_id" in c
    ]


def _name(user: FakeUser) -> str:
    return user.global_name or user.username


class Learner:
    """Acts in the fake Discord as its users would, and waits for the bot to finish each time."""

    def __init__(self, fake: RecordingDiscord, bot: StudyBot, watch: ErrorWatch) -> None:
        self.fake, self.bot, self.watch = fake, bot, watch
        self.commands = {c["name"]: c for c in fake.synced_commands(GUILD_ID)}

    def section(self, title: str) -> None:
        self.fake.section = title
        print(f"  {title}", flush=True)

    def has(self, path: str) -> bool:
        name, _, sub = path.partition(" ")
        command = self.commands.get(name)
        return command is not None and (not sub or any(o["name"] == sub for o in command.get("options", [])))

    async def settle(self, interaction: FakeInteraction | None = None, *, channel: FakeChannel | None = None,
                     after: int = 0) -> None:  # fmt: skip
        """Wait for the bot's reply to the last action, then until every handler it started has finished."""
        if interaction is not None:
            callback = await self.fake.wait_for_callback(interaction, timeout=STEP_DEADLINE)
            if callback.type == MODAL:
                self.fake.add("modal", message=callback.data or {})
        else:
            await self.fake.wait_for_message(channel, after=after, timeout=STEP_DEADLINE)
        if await self.bot.work.drain(STEP_DEADLINE, asyncio.Event()):
            raise StepFailed(f"the bot was still busy after {STEP_DEADLINE:.0f} s")
        if self.watch.errors:
            raise StepFailed(_briefly(self.watch.errors[0]))

    async def command(self, user: FakeUser, path: str, options: JSON | None = None,
                      channel: FakeChannel | None = None) -> FakeInteraction | None:  # fmt: skip
        """Run a slash command ("quiz start"); None, noted, when the bot offers no such command."""
        if not self.has(path):
            print(f"    /{path} is not a command of this bot: skipped", flush=True)
            self.fake.add("note", f"/{path} is not a command of this bot: skipped.")
            return None
        shown = " ".join(
            f"{k}: {f'#{v.name}' if isinstance(v, FakeChannel) else v}" for k, v in (options or {}).items()
        )
        self.fake.add("action", f"{_name(user)} runs /{path} {shown}".strip())
        interaction = await self.fake.slash(path, options, user=user, channel=channel)
        await self.settle(interaction)
        return interaction

    def message(self, message_id: int | str) -> JSON:
        message = self.fake.get_message(int(message_id))
        if message is None:
            raise StepFailed(f"message {message_id} is gone")
        return message

    async def press(self, user: FakeUser, message_id: int | str, label: str, custom_id: str | None = None,
                    why: str = "") -> FakeInteraction:  # fmt: skip
        """Click the button whose label starts with ``label`` (or whose custom id is ``custom_id``)."""
        message = self.message(message_id)
        buttons = _buttons(message)
        button = next((b for b in buttons if b.get("custom_id") == custom_id), None) if custom_id else None
        button = button or next((b for b in buttons if b.get("label", "").startswith(label)), None)
        if button is None:
            raise StepFailed(f"no button {label!r} on the message; it has {[b.get('label') for b in buttons]}")
        self.fake.add("action", f"{_name(user)} clicks «{button.get('label', '')}»{why}")
        interaction = await self.fake.click(message, button["custom_id"], user=user)
        await self.settle(interaction)
        return interaction

    async def fill_form(self, user: FakeUser, values: dict[str, str], message_id: int | str) -> FakeInteraction:
        """Submit the form the bot opened last."""
        self.fake.add("action", f"{_name(user)} submits the form: " + "; ".join(values.values()))
        interaction = await self.fake.submit_modal(None, values, user=user, message=self.message(message_id))
        await self.settle(interaction)
        return interaction

    async def say(self, user: FakeUser, channel: FakeChannel, text: str) -> None:
        mark = len(self.fake.messages_log)
        await self.fake.message(text, user=user, channel=channel)
        await self.settle(channel=channel, after=mark)

    def latest(self, channel: FakeChannel | int, label: str) -> JSON:
        """The bot's newest message in ``channel`` with an enabled button labelled ``label...``."""
        bot_id = str(self.fake.bot_user.id)
        for message in reversed(self.fake.channel_messages(channel)):
            if message["author"]["id"] == bot_id and any(
                b.get("label", "").startswith(label) and not b.get("disabled") for b in _buttons(message)
            ):
                return message
        raise StepFailed(f"no message with a {label!r} button")

    @staticmethod
    def newest(interaction: FakeInteraction) -> int:
        """The last message the bot sent for an interaction (its last follow-up, else its reply)."""
        if interaction.followups:
            return int(interaction.followups[-1]["id"])
        if interaction.original_message_id is None:
            raise StepFailed("the bot sent no message")
        return interaction.original_message_id

    # ---- quizzes -----------------------------------------------------------------------------

    @staticmethod
    def is_question(message: JSON) -> bool:
        return any(re.match(r"sbq[ms]?:", i) for i in _custom_ids(message))

    async def answer_quiz(self, user: FakeUser, message_id: int, right: bool) -> None:
        """Answer the question on the message, rightly or wrongly, whatever its kind."""
        message = self.message(message_id)
        first = next((i for i in _custom_ids(message) if re.match(r"sbq[ms]?:", i)), None)
        if first is None:
            raise StepFailed(f"no quiz question on the message: {_custom_ids(message)}")
        sid, idx = first.split(":")[1:3]
        quizzes = self.bot.services.quizzes
        item = quizzes.shown(await quizzes.load(sid), int(idx))  # the choices in the order shown
        why = " (the right answer)" if right else " (a wrong answer, on purpose)"
        if item.type is QuizType.mcq and isinstance(item.answer, int):
            letter = LETTERS[item.answer if right else (item.answer + 1) % len(item.choices)]
            await self.press(user, message_id, letter, f"sbq:{sid}:{idx}:{letter}", why)
        elif item.type is QuizType.true_false:
            value = str(item.answer is right).lower()
            await self.press(user, message_id, value.title(), f"sbq:{sid}:{idx}:{value}", why)
        elif item.type is QuizType.multi and isinstance(item.answer, list):
            wrong = next(i for i in range(len(item.choices)) if i not in item.answer)
            values = [LETTERS[i] for i in item.answer] if right else [LETTERS[wrong]]
            self.fake.add("action", f"{_name(user)} picks {', '.join(values)} in the menu{why}")
            await self.settle(await self.fake.select(message, f"sbqm:{sid}:{idx}", values, user=user))
        else:
            await self.press(user, message_id, "", f"sbqs:{sid}:{idx}")
            answer = item.answer if isinstance(item.answer, str) else " ".join(item.key_points)
            await self.fill_form(user, {"answer": answer if right else "No idea, sorry."}, message_id)

    async def quiz_until_stop(self, user: FakeUser, message_id: int, answers: list[bool], stop: bool) -> int:
        """Answer questions in turn (``answers``: right or wrong), pressing Next after each; then Stop."""
        for right in answers:
            await self.answer_quiz(user, message_id, right)
            labels = [b.get("label", "") for b in _buttons(self.message(message_id)) if not b.get("disabled")]
            move_on = next((label for label in labels if label.startswith(("Next", "See results"))), "Next")
            message_id = self.newest(await self.press(user, message_id, move_on))
            if not self.is_question(self.message(message_id)):
                return message_id
        if stop:
            await self.press(user, message_id, "Stop")
        return message_id

    # ---- interviews --------------------------------------------------------------------------

    async def interview_turn(self, sid: str, thread: FakeChannel, users: dict[str, FakeUser], good: bool,
                             form: bool = False) -> None:  # fmt: skip
        """Whoever's turn it is answers the current question (and a follow-up, if one comes)."""
        interviews = self.bot.services.interviews
        session = await interviews.load(sid)
        prompt, question = session.current_prompt(), session.current_question
        if prompt is None or question is None:
            raise StepFailed("the interview has no open question")
        user = users[prompt.user_ids[0]]
        text = " ".join(question.key_points) if good else "Not sure. I would probably just train it longer?"
        if form:
            await self.press(user, self.latest(thread, "Answer in a form")["id"], "Answer in a form")
            await self.fill_form(user, {"answer": text}, self.latest(thread, "Answer in a form")["id"])
        else:
            await self.say(user, thread, text)
        for _ in range(2):
            follow = (await interviews.load(sid)).current_prompt()
            if follow is None or not follow.is_follow_up or follow.number != prompt.number:
                return
            reply = f"Because {question.key_points[-1][0].lower()}{question.key_points[-1][1:]}" if good else "No idea."
            await self.say(user, thread, reply)


async def play(learner: Learner) -> None:
    """The session: each section as a learner would go through it."""
    fake, bot = learner.fake, learner.bot
    ben, ada = fake.member, fake.admin

    learner.section("Ask")
    first = None
    for question in ("what is dropout", "what is the difference between L1 and L2 regularization",
                     "How long should I knead bread dough?"):  # fmt: skip
        asked = await learner.command(ben, "ask", {"question": question})
        first = first or asked
    if first is not None and any(b.get("label") == "Helpful" for b in _buttons(learner.message(learner.newest(first)))):
        await learner.press(ben, learner.newest(first), "Helpful")

    learner.section("Quiz")
    start = await learner.command(ben, "quiz start", {"count": 3})
    if start is not None:
        await learner.quiz_until_stop(ben, learner.newest(start), [True, False, True], stop=False)

    learner.section("Review")
    review = await learner.command(ben, "quiz review", {"count": 3})
    if review is not None:
        shown = learner.newest(review)
        if not learner.is_question(learner.message(shown)) and _buttons(learner.message(shown)):
            label = _buttons(learner.message(shown))[0]["label"]  # "Practise <topic>" or a first quiz
            shown = learner.newest(await learner.press(ben, shown, label))
        if learner.is_question(learner.message(shown)):
            await learner.quiz_until_stop(ben, shown, [False], stop=True)

    learner.section("Flashcards")
    cards = await learner.command(ben, "cards")
    if cards is not None:
        card = learner.newest(cards)
        for rating in ("Good", "Again"):
            await learner.press(ben, card, "Show answer")
            await learner.press(ben, card, rating)
        await learner.press(ben, card, "Stop")
        again = await learner.command(ben, "cards")
        if again is not None:
            await learner.press(ben, learner.newest(again), "Show answer")

    users = {f"discord:{u.id}": u for u in (ben, ada)}
    interviews = bot.services.interviews
    learner.section("Solo interview")
    solo = await learner.command(ben, "interview start", {"topic": "regularization", "questions": 3}, fake.study)
    if solo is not None:
        thread = fake.threads[-1]
        sid = (await interviews.active_for(channel_id=str(thread.id)))[0].id
        await learner.interview_turn(sid, thread, users, good=True)
        await learner.press(ben, learner.latest(thread, "Show model answer")["id"], "Show model answer")
        await learner.interview_turn(sid, thread, users, good=False)
        await learner.press(ben, learner.latest(thread, "End interview")["id"], "End interview")

    learner.section("Group interview")
    group = await learner.command(ada, "interview start", {"questions": 3, "group": True}, fake.study)
    if group is not None:
        thread = fake.threads[-1]
        lobby = learner.latest(thread, "Join")["id"]
        await learner.press(ben, lobby, "Join")
        await learner.press(ada, lobby, "Start")
        sid = (await interviews.active_for(channel_id=str(thread.id)))[0].id
        for turn in range(3):
            if (await interviews.load(sid)).current_prompt() is None:
                break
            await learner.interview_turn(sid, thread, users, good=turn != 1, form=turn == 2)

    learner.section("Progress")
    await learner.command(ben, "progress")
    await learner.command(ben, "leaderboard")

    learner.section("Reminders")
    if await learner.command(ben, "reminders on", {"hour": 0}) is not None:
        send_due = getattr(bot.get_cog("Reminders"), "send_due", None)
        if send_due is not None:
            fake.add("note", "A day later, the bot's daily reminder check runs (send_due, told it is tomorrow).")
            if not await send_due(datetime.now(UTC) + timedelta(days=1)):
                fake.add("note", "Nothing was due, so no reminder was sent.")


# --------------------------------------------------------------------------------------------
# Running the bot against the fake
# --------------------------------------------------------------------------------------------


def bot_settings(database: Path) -> Settings:
    """The normal settings, with a fresh database, commands synced to the fake's server, no rate limit."""
    return Settings().model_copy(  # type: ignore[call-arg]
        update={
            "database_url": SecretStr(f"sqlite+aiosqlite:///{database.as_posix()}"),
            "discord_test_guild": GUILD_ID,
            "discord_guild_ready_timeout": 0.05,
            "rate_limit_per_minute": 10_000,  # one learner does a whole session within a minute or two
            "http_port": 0,
        }
    )


async def record(files_dir: Path) -> tuple[JSON, str | None]:
    """Play the session; the recording (see ``render``) and what went wrong, if anything."""
    fake = RecordingDiscord()
    watch = ErrorWatch(fake)
    with tempfile.TemporaryDirectory(prefix="studybot-transcript-") as tmp:
        settings = bot_settings(Path(tmp) / "studybot.db")
        install_worker_pool(settings)
        services = build_services(settings)
        if not await asyncio.to_thread(services.store.count):
            raise SetupError(f"The knowledge base in {settings.chroma_dir} is empty: run `studybot ingest` first.")
        print("loading the model and the banks...", flush=True)
        await asyncio.to_thread(services.warm_up)
        await fake.start()
        old = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = fake.api_base, yarl.URL(fake.gateway_url)
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).addHandler(watch)
        problem = None
        try:
            bot = build_bot(services)
            try:
                await _start(bot)
                await play(Learner(fake, bot, watch))
            except Exception as exc:  # the recording so far is still worth rendering
                problem = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
                problem = _briefly(watch.errors[0]) if watch.errors else problem
                fake.add("note", f"The session stopped here: {problem}")
            finally:
                await bot.close()
            files = await _download_attachments(fake, files_dir)
        finally:
            for name in WATCHED_LOGGERS:
                logging.getLogger(name).removeHandler(watch)
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old
            await fake.close()
            await services.aclose()  # the bot closed them already, unless it never started; twice is fine
    problem = problem or (_briefly(watch.errors[0]) if watch.errors else None)
    world = fake.world
    names = {str(u.id): _name(u) for u in world.users.values()}
    channels = {str(c.id): c.name for g in world.guilds.values() for c in g.channels.values()}
    recording = {
        "bot_id": str(fake.bot_user.id),
        "names": names,
        "channels": channels,
        "files": files,
        "entries": [asdict(e) for e in fake.entries],
    }
    return recording, problem


def _briefly(error: str) -> str:
    """A logged error in two lines (its traceback is in the log above): the message and the exception."""
    lines = [line for line in error.splitlines() if line.strip()]
    return f"the bot logged an error: {lines[0]}" + (f"\n  {lines[-1].strip()}" if len(lines) > 1 else "")


async def _start(bot: StudyBot) -> None:
    """Connect the bot (in a task of its own) and return once it is ready."""
    task = asyncio.create_task(bot.start(VALID_TOKEN), name="studybot")
    ready = asyncio.create_task(bot.wait_until_ready())
    await asyncio.wait({task, ready}, timeout=STEP_DEADLINE, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        if task.done():
            task.result()  # raises why it stopped
        raise StepFailed("the bot did not connect to the fake Discord")


async def _download_attachments(fake: RecordingDiscord, folder: Path) -> dict[str, str]:
    """Every file the bot attached, saved under ``folder``: {its URL: the saved file's name}."""
    urls = {a["url"]: f"{a['id']}-{a['filename']}" for e in fake.entries for a in e.message.get("attachments", [])}
    saved: dict[str, str] = {}
    if not urls:
        return saved
    folder.mkdir(parents=True, exist_ok=True)
    async with aiohttp.ClientSession() as http:
        for url, name in urls.items():
            async with http.get(url) as response:
                if response.status == 200:
                    data = await response.read()
                    await asyncio.to_thread((folder / name).write_bytes, data)
                    saved[url] = f"{folder.name}/{name}"
    return saved


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

THEMES = {
    "dark": {
        "bg": "#313338", "text": "#dbdee1", "muted": "#949ba4", "name": "#f2f3f5", "embed": "#2b2d31",
        "bar": "#1e1f22", "code": "#1e1f22", "link": "#00a8fc", "secondary": "#4e5058", "band": "#2b2d31",
        "mention": "rgba(88,101,242,.3)", "mention-text": "#c9cdfb", "line": "#3f4147", "select": "#1e1f22",
        "ephemeral": "#333643",
    },
    "light": {
        "bg": "#ffffff", "text": "#313338", "muted": "#5c5e66", "name": "#060607", "embed": "#f2f3f5",
        "bar": "#e3e5e8", "code": "#e3e5e8", "link": "#006ce7", "secondary": "#6d6f78", "band": "#f2f3f5",
        "mention": "rgba(88,101,242,.15)", "mention-text": "#505cdc", "line": "#e1e2e4", "select": "#ebedef",
        "ephemeral": "#f5f6fe",
    },
}  # fmt: skip

CSS = """
body { margin: 0; background: var(--bg); color: var(--text); width: 1000px;
       font: 16px/1.375 "gg sans", "Noto Sans", "Liberation Sans", Arial, sans-serif; }
h1 { font-size: 20px; color: var(--name); margin: 0; padding: 14px 20px; border-bottom: 1px solid var(--line); }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
     margin: 18px 20px 6px; }
.entry { padding: 4px 20px 4px 16px; }
.msg { display: flex; gap: 14px; padding-top: 10px; padding-bottom: 6px; }
.msg.ephemeral { background: var(--ephemeral); }  /* opaque: Chromium blends translucent tiles unevenly */
.avatar { width: 40px; height: 40px; border-radius: 50%; flex: none; color: #fff; font-weight: 700;
          display: flex; align-items: center; justify-content: center; }
.body { min-width: 0; flex: 1; }
.used { font-size: 14px; color: var(--muted); margin-bottom: 2px; }
.head { display: flex; align-items: baseline; gap: 8px; flex-wrap: wrap; }
.name { color: var(--name); font-weight: 600; }
.tag { background: #5865f2; color: #fff; font-size: 10px; font-weight: 700; padding: 1px 4px; border-radius: 3px; }
.time, .where { color: var(--muted); font-size: 12px; }
.state { font-size: 11px; border: 1px solid var(--muted); color: var(--muted); border-radius: 8px; padding: 0 6px; }
.content { white-space: normal; overflow-wrap: anywhere; }
.thinking { color: var(--muted); font-style: italic; }
.embed { display: flex; max-width: 520px; margin-top: 4px; background: var(--embed); border-radius: 4px;
         border-left: 4px solid var(--bar); }
.embed-inner { padding: 8px 16px 16px 12px; min-width: 0; flex: 1; font-size: 14px; }
.embed-author { font-size: 14px; font-weight: 600; color: var(--name); margin-top: 8px; }
.embed-title { font-weight: 600; color: var(--name); margin-top: 8px; font-size: 16px; }
.embed-desc { margin-top: 8px; overflow-wrap: anywhere; }
.fields { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; margin-top: 8px; }
.field { grid-column: 1 / -1; min-width: 0; }
.field.inline { grid-column: auto; }
.field-name { font-weight: 600; color: var(--name); margin-bottom: 2px; }
.embed-image img { max-width: 400px; border-radius: 4px; margin-top: 16px; display: block; }
.thumb img { max-width: 80px; margin: 16px 16px 0 0; border-radius: 4px; }
.embed-footer { font-size: 12px; color: var(--muted); margin-top: 8px; }
.attachment img { max-width: 550px; max-height: 550px; border-radius: 8px; margin-top: 6px; display: block; }
.file { display: inline-block; margin-top: 6px; padding: 10px 14px; border: 1px solid var(--line);
        border-radius: 8px; background: var(--embed); }
.row { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.btn { color: #fff; font-size: 14px; font-weight: 500; padding: 2px 16px; min-height: 32px; border-radius: 8px;
       display: inline-flex; align-items: center; gap: 4px; }
.style-1 { background: #5865f2; } .style-2 { background: var(--secondary); } .style-3 { background: #248046; }
.style-4 { background: #da373c; } .style-5 { background: var(--secondary); }
.disabled { opacity: .5; }
.select { width: 400px; background: var(--select); border: 1px solid var(--line); border-radius: 8px;
          padding: 8px 12px; color: var(--muted); font-size: 14px; display: flex; justify-content: space-between; }
.options { font-size: 12px; color: var(--muted); margin-top: 4px; }
.eph { font-size: 12px; color: var(--muted); margin-top: 4px; }
.eph a, a { color: var(--link); text-decoration: none; }
code { background: var(--code); border-radius: 4px; padding: 0 3px; font: .85em "DejaVu Sans Mono", monospace; }
pre { background: var(--code); border-radius: 4px; padding: 8px; white-space: pre-wrap;
      font: 13px "DejaVu Sans Mono", monospace; }
.quote { border-left: 4px solid var(--line); padding-left: 10px; }
.mention { background: var(--mention); color: var(--mention-text); border-radius: 3px; padding: 0 2px; }
.ts { text-decoration: underline dotted; }
.embed-footer .ts, .embed-title .ts, .embed-author .ts, .btn .ts { text-decoration: underline wavy #f23f43; }
.action { margin: 10px 20px 4px 70px; padding: 6px 12px; background: var(--band); border-radius: 6px;
          border-left: 3px solid #23a55a; font-size: 14px; }
.action b { color: var(--name); }
.note { margin: 10px 20px 4px 70px; font-size: 14px; color: var(--muted); font-style: italic; }
.modal { margin: 8px 20px 4px 70px; width: 440px; background: var(--embed); border-radius: 8px; padding: 16px;
         border: 1px solid var(--line); font-size: 14px; }
.modal-title { font-size: 20px; font-weight: 700; color: var(--name); margin-bottom: 12px; }
.modal-input { margin-top: 6px; padding: 10px; background: var(--bg); border-radius: 4px; color: var(--muted); }
.label { font-size: 12px; font-weight: 700; text-transform: uppercase; color: var(--muted); }
#measure { display: none; }
"""

MEASURE = """<pre id="measure"></pre><script>
window.addEventListener('load', () => {
  const tops = [...document.querySelectorAll('[data-i]')].map(e => [+e.dataset.i, e.offsetTop]);
  document.getElementById('measure').textContent = JSON.stringify({height: document.body.scrollHeight, tops});
});
</script>"""

AVATAR_COLOURS = ["#3ba55c", "#eb459e", "#faa61a", "#ed4245", "#00a8fc"]


class Renderer:
    """HTML for a recording, in Discord's look."""

    def __init__(self, recording: JSON) -> None:
        self.names: dict[str, str] = recording["names"]
        self.channels: dict[str, str] = recording["channels"]
        self.files: dict[str, str] = recording["files"]
        self.bot_id: str = recording["bot_id"]
        self.entries = [Entry(**e) for e in recording["entries"]]
        # "in 20 minutes" is relative to when the session was played: its first message's time.
        stamps = [e.message["timestamp"] for e in self.entries if e.kind == "message" and e.message.get("timestamp")]
        self.now = datetime.fromisoformat(stamps[0]) if stamps else datetime.now(UTC)
        self.states: dict[str, int] = {}
        for e in self.entries:
            if e.kind == "message":
                self.states[e.message["id"]] = max(self.states.get(e.message["id"], 0), e.state)

    # ---- text -------------------------------------------------------------------------------

    def markdown(self, text: str) -> str:
        """Discord's markdown: code blocks, quotes, bullets, bold, italic, underline, strike, code, links, mentions."""
        out = []
        for i, block in enumerate(re.split(r"(```.*?```)", text or "", flags=re.S)):
            if i % 2:
                out.append(f"<pre>{html.escape(block[3:-3].strip(chr(10)))}</pre>")
                continue
            lines = []
            for line in block.split("\n"):
                quote = line.startswith("> ")
                line = line[2:] if quote else line
                if (heading := re.match(r"(#{1,3}) (.*)", line)) is not None:
                    size = {1: 24, 2: 20, 3: 16}[len(heading[1])]
                    line = f'<b style="font-size:{size}px">{self.inline(heading[2])}</b>'
                elif (bullet := re.match(r"(\s*)[-*] (.*)", line)) is not None:
                    line = f'<span style="padding-left:{8 + 16 * len(bullet[1])}px">• {self.inline(bullet[2])}</span>'
                else:
                    line = self.inline(line)
                lines.append(f'<div class="quote">{line}</div>' if quote else line + "<br>")
            out.append("".join(lines))
        return re.sub(r"(<br>)+$", "", "".join(out))

    def inline(self, text: str) -> str:
        parts = re.split(r"(`[^`\n]+`)", text)
        for i, part in enumerate(parts):
            if i % 2:
                parts[i] = f"<code>{html.escape(part[1:-1])}</code>"
                continue
            s = html.escape(part, quote=False)
            s = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r'<a href="\2">\1</a>', s)
            s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
            s = re.sub(r"__(.+?)__", r"<u>\1</u>", s)
            s = re.sub(r"(?<![\w*])\*(?![\s*])(.+?)(?<![\s*])\*(?![\w*])", r"<i>\1</i>", s)
            s = re.sub(r"(?<![\w])_(?!\s)(.+?)(?<!\s)_(?![\w])", r"<i>\1</i>", s)
            s = re.sub(r"~~(.+?)~~", r"<s>\1</s>", s)
            s = self.marks(s)
            parts[i] = s
        return "".join(parts)

    def marks(self, escaped: str) -> str:
        """Mentions and timestamps (``<t:1796589862:R>``) as Discord shows them, in UTC."""
        s = re.sub(
            r"&lt;@!?(\d+)&gt;", lambda m: f'<span class="mention">@{self.names.get(m[1], m[1])}</span>', escaped
        )
        s = re.sub(r"&lt;#(\d+)&gt;", lambda m: f'<span class="mention">#{self.channels.get(m[1], m[1])}</span>', s)
        return re.sub(r"&lt;t:(-?\d+)(?::([tTdDfFR]))?&gt;", self._timestamp, s)

    def _timestamp(self, m: re.Match[str]) -> str:
        when = datetime.fromtimestamp(int(m[1]), UTC)
        style = m[2] or "f"
        if style == "R":
            minutes = round((when - self.now).total_seconds() / 60)
            span = f"{abs(minutes)} minutes" if abs(minutes) < 120 else f"{round(abs(minutes) / 60)} hours"
            shown = f"in {span}" if minutes >= 0 else f"{span} ago"
        else:
            formats = {"t": "%H:%M", "T": "%H:%M:%S", "d": "%d/%m/%Y", "D": "%d %B %Y", "f": "%d %B %Y %H:%M",
                       "F": "%A, %d %B %Y %H:%M"}  # fmt: skip
            shown = when.strftime(formats[style])
        return f'<span class="ts">{shown}</span>'

    def plain(self, text: str) -> str:
        """Text Discord shows without markdown (footers, author names, labels)."""
        return self.marks(html.escape(text or "", quote=False))

    # ---- messages ---------------------------------------------------------------------------

    def avatar(self, user_id: str, name: str) -> str:
        colour = "#5865f2" if user_id == self.bot_id else AVATAR_COLOURS[int(user_id) % len(AVATAR_COLOURS)]
        return f'<div class="avatar" style="background:{colour}">{html.escape(name[:1].upper())}</div>'

    def message(self, e: Entry) -> str:
        msg = e.message
        author = msg["author"]
        name = author.get("global_name") or author["username"]
        ephemeral = bool(msg.get("flags", 0) & EPHEMERAL)
        parts = []
        meta = msg.get("interaction_metadata") or {}
        if meta.get("type") == 2 and meta.get("name"):
            who = meta["user"].get("global_name") or meta["user"]["username"]
            parts.append(
                f'<div class="used">↱ <b>{html.escape(who)}</b> used <b>/{html.escape(meta["name"])}</b></div>'
            )
        total = self.states.get(msg["id"], 1)
        state = f'<span class="state">state {e.state} of {total}{" · final" if e.state == total else ""}</span>'
        tag = '<span class="tag">APP</span>' if author.get("bot") else ""
        parts.append(
            f'<div class="head"><span class="name">{html.escape(name)}</span>{tag}'
            f'<span class="time">Today at {msg["timestamp"][11:16]}</span><span class="where">{html.escape(e.where)}'
            f"</span>{state if total > 1 else ''}</div>"
        )
        if msg.get("flags", 0) & LOADING:
            parts.append(f'<div class="thinking">{html.escape(name)} is thinking…</div>')
        elif msg.get("content"):
            parts.append(f'<div class="content">{self.markdown(msg["content"])}</div>')
        attachments = {a["filename"]: a for a in msg.get("attachments", [])}
        shown_in_embed: set[str] = set()
        for embed in msg.get("embeds", []):
            parts.append(self.embed(embed, attachments, shown_in_embed))
        for a in msg.get("attachments", []):
            if a["filename"] not in shown_in_embed:
                parts.append(self.attachment(a))
        parts += [self.row(row) for row in msg.get("components", [])]
        if ephemeral:
            parts.append('<div class="eph">👁 Only you can see this · <a>Dismiss message</a></div>')
        return self.avatar(author["id"], name) + f'<div class="body">{"".join(parts)}</div>'

    def embed(self, embed: JSON, attachments: dict[str, JSON], shown: set[str]) -> str:
        colour = f"#{embed['color']:06x}" if isinstance(embed.get("color"), int) else "var(--bar)"
        inner = []
        if (embed.get("author") or {}).get("name"):
            inner.append(f'<div class="embed-author">{self.plain(embed["author"]["name"])}</div>')
        if embed.get("title"):
            inner.append(f'<div class="embed-title">{self.inline(embed["title"])}</div>')
        if embed.get("description"):
            inner.append(f'<div class="embed-desc">{self.markdown(embed["description"])}</div>')
        fields = [
            f'<div class="field{" inline" if f.get("inline") else ""}"><div class="field-name">{self.inline(f["name"])}'
            f"</div><div>{self.markdown(f['value'])}</div></div>"
            for f in embed.get("fields", [])
        ]
        if fields:
            inner.append(f'<div class="fields">{"".join(fields)}</div>')

        def image(key: str) -> str:
            url: str = (embed.get(key) or {}).get("url", "")
            if url.startswith("attachment://") and url[13:] in attachments:  # a file sent with the message
                shown.add(url[13:])
                url = self.files.get(attachments[url[13:]]["url"], "")
            return html.escape(url)

        if picture := image("image"):
            inner.append(f'<div class="embed-image"><img src="{picture}"></div>')
        footer = [self.plain((embed.get("footer") or {}).get("text", ""))]
        footer += [f"Today at {embed['timestamp'][11:16]}"] if embed.get("timestamp") else []
        if any(footer):
            inner.append(f'<div class="embed-footer">{" • ".join(f for f in footer if f)}</div>')
        thumb = f'<div class="thumb"><img src="{small}"></div>' if (small := image("thumbnail")) else ""
        inner_html = f'<div class="embed-inner">{"".join(inner)}</div>'
        return f'<div class="embed" style="border-left-color:{colour}">{inner_html}{thumb}</div>'

    def attachment(self, a: JSON) -> str:
        path = self.files.get(a["url"])
        if path and (a.get("content_type") or "").startswith("image/"):
            return f'<div class="attachment"><img src="{html.escape(path)}"></div>'
        size = f'<span class="time">{a.get("size", 0)} bytes</span>'
        return f'<div class="file">📄 {html.escape(a["filename"])} {size}</div>'

    def row(self, row: JSON) -> str:
        items = []
        for c in row.get("components", []):
            disabled = " disabled" if c.get("disabled") else ""
            if c.get("type") == 2:
                emoji = html.escape((c.get("emoji") or {}).get("name") or "")
                link = " ↗" if c.get("style") == 5 else ""
                label = self.plain(c.get("label", ""))
                items.append(f'<span class="btn style-{c.get("style", 2)}{disabled}">{emoji}{label}{link}</span>')
            elif c.get("type") == 3:
                options = "<br>".join(
                    f"{html.escape(o['label'])}"
                    + (f" — {html.escape(o['description'])}" if o.get("description") else "")
                    for o in c.get("options", [])
                )
                placeholder = html.escape(c.get("placeholder") or "Make a selection")
                items.append(
                    f'<div><div class="select{disabled}"><span>{placeholder}</span><span>▾</span></div>'
                    f'<div class="options">The menu\'s options (shown once opened):<br>{options}</div></div>'
                )
            else:
                items.append(f'<span class="time">[a component of type {c.get("type")}]</span>')
        return f'<div class="row">{"".join(items)}</div>'

    def modal(self, data: JSON) -> str:
        inputs = []
        for row in data.get("components", []):
            for c in row.get("components", []) or [row.get("component") or {}]:
                label = html.escape(c.get("label") or c.get("custom_id") or "")
                hint = html.escape(c.get("placeholder") or "")
                inputs.append(f'<div class="label">{label}</div><div class="modal-input">{hint or "&nbsp;"}</div>')
        title = html.escape(data.get("title", ""))
        return f'<div class="modal-title">{title}</div>{"".join(inputs)}'

    def entry(self, i: int, e: Entry) -> str:
        if e.kind == "message":
            ephemeral = e.message.get("flags", 0) & EPHEMERAL
            kind, inner = ("msg ephemeral" if ephemeral else "msg"), self.message(e)
        elif e.kind == "modal":
            kind, inner = "modal", self.modal(e.message)
        elif e.kind == "action":
            kind, inner = "action", f"▶ {html.escape(e.text)}"
        else:
            kind, inner = "note", html.escape(e.text)
        return f'<div class="entry {kind}" data-i="{i}">{inner}</div>'

    def page(self, title: str, theme: str, items: list[tuple[int, Entry]], *, sections: bool) -> str:
        variables = "".join(f"--{k}: {v}; " for k, v in THEMES[theme].items())
        body, current = [], None
        for i, e in items:
            if sections and e.section != current:
                body.append(f"<h2>{html.escape(e.section)}</h2>")
                current = e.section
            body.append(self.entry(i, e))
        return (
            f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>:root {{ {variables}}}{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
            f"{''.join(body)}<div style='height:16px'></div>{MEASURE}</body></html>"
        )


# --------------------------------------------------------------------------------------------
# Screenshots
# --------------------------------------------------------------------------------------------


def chromium(*args: str) -> str:
    with tempfile.TemporaryDirectory(prefix="studybot-chromium-") as profile:
        command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                   f"--user-data-dir={profile}", *args]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    if done.returncode:
        raise StepFailed(f"chromium failed ({done.returncode}): {done.stderr[-800:]}")
    return done.stdout


def measure(page: Path) -> JSON:
    """The page's height and where each entry starts, as Chromium lays it out 1000 px wide."""
    dom = chromium("--dump-dom", "--virtual-time-budget=5000", "--window-size=1000,1000", page.as_uri())
    found = re.search(r'<pre id="measure">(.*?)</pre>', dom, re.S)
    if found is None or not found[1].strip():
        raise StepFailed(f"could not measure {page}")
    data: JSON = json.loads(html.unescape(found[1]))
    return data


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def render(recording: JSON, out: Path, theme: str, max_height: int) -> tuple[Path, list[Path]]:
    """transcript.html, and PNGs of it: a page per section, split where a section is taller than ``max_height``."""
    renderer = Renderer(recording)
    suffix = "" if theme == "dark" else f"-{theme}"
    for old in out.glob(f"[0-9][0-9]-*{suffix}.png"):  # an earlier run's pages of this theme
        if suffix or not old.stem.endswith("-light"):
            old.unlink()
    numbered = list(enumerate(renderer.entries))
    whole = out / f"transcript{suffix}.html"
    whole.write_text(renderer.page("studybot: a learner's session", theme, numbered, sections=True), encoding="utf-8")
    layout = measure(whole)
    tops = dict(layout["tops"])
    ends = {i: tops.get(i + 1, layout["height"]) for i in tops}  # an entry ends where the next begins
    pages: list[tuple[str, list[tuple[int, Entry]]]] = []
    for number, section in enumerate(dict.fromkeys(e.section for e in renderer.entries), 1):
        chunk: list[tuple[int, Entry]] = []
        chunks = [chunk]
        height = 0
        for i, e in numbered:
            if e.section != section:
                continue
            size = ends[i] - tops[i]
            if chunk and height + size > max_height:
                chunk, height = [], 0
                chunks.append(chunk)
            chunk.append((i, e))
            height += size
        for k, items in enumerate(chunks, 1):
            name = f"{number:02d}-{_slug(section)}" + (f"-{k}" if len(chunks) > 1 else "")
            title = f"{section}" + (f" ({k} of {len(chunks)})" if len(chunks) > 1 else "")
            pages.append((name + suffix, items))
            (out / "pages").mkdir(exist_ok=True)
            html_page = renderer.page(f"studybot: {title}", theme, items, sections=False)
            (out / "pages" / f"{name}{suffix}.html").write_text(html_page.replace('src="files/', 'src="../files/'),
                                                               encoding="utf-8")  # fmt: skip
    shots = []
    for name, _ in pages:
        page = out / "pages" / f"{name}.html"
        height = measure(page)["height"]
        shot = out / f"{name}.png"
        chromium(f"--screenshot={shot}", f"--window-size=1000,{height}", page.as_uri())
        shots.append(shot)
    return whole, shots


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="folder for the HTML, the PNGs and session.json")
    parser.add_argument("--light", action="store_true", help="Discord's light theme instead of the dark one")
    parser.add_argument("--from", dest="source", type=Path, help="render this session.json instead of playing")
    parser.add_argument("--page-height", type=int, default=1600, help="split a section's PNG above this height")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord.client").setLevel(logging.ERROR)  # "PyNaCl is not installed": no voice here
    if not CHROMIUM.exists():
        print(f"error: headless Chromium is needed at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    problem = None
    try:
        if args.source:
            recording = json.loads(args.source.read_text(encoding="utf-8"))
        else:
            print("playing the session against the fake Discord...", flush=True)
            recording, problem = asyncio.run(record(out / "files"))
            (out / "session.json").write_text(json.dumps(recording, indent=1), encoding="utf-8")
    except (SetupError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        whole, shots = render(recording, out, "light" if args.light else "dark", args.page_height)
    except (StepFailed, subprocess.TimeoutExpired) as exc:
        print(f"error: rendering failed: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {whole} and {len(shots)} screenshot(s):")
    for shot in shots:
        print(f"  {shot}")
    if problem:
        print(f"error: the session stopped early: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
