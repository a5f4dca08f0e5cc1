"""studybot's Discord layer end to end: the real StudyBot and discord.py against the fake Discord."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app import Services, build_services
from bot.discord_app.client import StudyBot
from bot.discord_app.render import clip
from bot.study.answering import CardIndex
from bot.study.banks import QuizType
from bot.study.embedding import Embedder
from bot.study.quiz import LETTERS
from bot.study.store import ReviewRecord
from tests.conftest import share_session_models
from tests.discord.conftest import BotStarter
from tests.discord.fake_discord import WAIT, FakeDiscord

JSON = dict[str, Any]
NO_PINGS = {"parse": []}
COMMANDS = {"ask", "quiz", "cards", "reminders", "interview", "progress", "leaderboard", "topics", "sources",
            "forget-me", "material", "mentions"}  # fmt: skip


@pytest.fixture
def make_bot(
    knowledge_services: Services, embedder: Embedder, card_index: CardIndex, tmp_path: Path, fake_discord: FakeDiscord
) -> Callable[..., StudyBot]:
    """A StudyBot over the session's ingested knowledge and a database of this test's own."""
    fake_discord.grant_intents("message_content")  # studybot asks for it; the portal setting is on

    def make(**overrides: Any) -> StudyBot:
        values: dict[str, Any] = {
            "database_url": SecretStr(f"sqlite+aiosqlite:///{tmp_path}/bot.db"),
            "discord_test_guild": 1000
            if "discord_test_guild" not in overrides
            else overrides.pop("discord_test_guild"),
            "discord_guild_ready_timeout": 0.05,
            "data_dir": tmp_path / "data",
            "chroma_path": knowledge_services.settings.chroma_dir,
        }
        values.update(overrides)
        services = build_services(knowledge_services.settings.model_copy(update=values))
        share_session_models(services, embedder, card_index)
        return StudyBot(services, guild_ready_timeout=0.05)

    return make


@pytest.fixture(autouse=True)
def _every_embed_reads_clean(fake_discord: FakeDiscord) -> Iterator[None]:
    """After each test: no embed the bot sent or edited, in any message or interaction response, shows a
    note's file path, or timestamp markup in a footer (Discord shows it raw there)."""
    yield
    for request in fake_discord.requests:
        body = request.json if isinstance(request.json, dict) else {}
        payload = body.get("data") if request.path.endswith("/callback") else body
        for embed in (payload or {}).get("embeds") or []:
            footer = (embed.get("footer") or {}).get("text", "")
            assert "<t:" not in footer, f"timestamp markup in a footer: {footer!r}"
            shown = json.dumps(embed)
            assert "notes/" not in shown and ".md" not in shown, f"a note path in an embed: {shown[:300]}"


@pytest.fixture
async def bot(make_bot: Callable[..., StudyBot], start_bot: BotStarter) -> AsyncIterator[StudyBot]:
    yield await start_bot(make_bot())


async def cmd(fake: FakeDiscord, path: str, options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A slash command by its full path: 'ask' or 'quiz start'."""
    name, _, sub = path.partition(" ")
    return await fake.slash(name, options, subcommand=sub or None, **kwargs)


def _custom_ids(message: JSON) -> list[str]:
    return [
        c["custom_id"] for row in message.get("components", []) for c in row.get("components", []) if "custom_id" in c
    ]


async def _answer_quiz_question(fake: FakeDiscord, bot: StudyBot, message: JSON, user: Any, right: bool) -> Any:
    """Answer whatever kind of question the message shows, rightly or wrongly; returns the interaction."""
    ids = [i for i in _custom_ids(message) if re.match(r"sbq[ms]?:", i)]
    sid, idx = ids[0].split(":")[1:3]
    quizzes = bot.services.quizzes
    item = quizzes.shown(await quizzes.load(sid), int(idx))  # the choices in the order the message shows
    if item.type is QuizType.mcq:
        assert isinstance(item.answer, int)
        letter = LETTERS[item.answer if right else (item.answer + 1) % len(item.choices)]
        return await fake.click(message, f"sbq:{sid}:{idx}:{letter}", user=user)
    if item.type is QuizType.true_false:
        value = "true" if item.answer == right else "false"
        return await fake.click(message, f"sbq:{sid}:{idx}:{value}", user=user)
    if item.type is QuizType.multi:
        assert isinstance(item.answer, list)
        values = (
            [LETTERS[i] for i in item.answer] if right else [LETTERS[next(i for i in range(6) if i not in item.answer)]]
        )
        return await fake.select(message, f"sbqm:{sid}:{idx}", values, user=user)
    opened = await fake.click(message, f"sbqs:{sid}:{idx}", user=user)
    await fake.wait_for_callback(opened)
    text = " ".join(item.key_points) if right else "No idea."
    return await fake.submit_modal(f"sbqa:{sid}:{idx}", {"answer": text}, user=user, message=message)


async def test_commands_are_synced(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    names = {c["name"] for c in fake_discord.synced_commands(1000)}
    assert names == COMMANDS
    quiz = next(c for c in fake_discord.synced_commands(1000) if c["name"] == "quiz")
    assert {o["name"] for o in quiz["options"]} == {"start", "review"}
    material = next(c for c in fake_discord.synced_commands(1000) if c["name"] == "material")
    assert int(material["default_member_permissions"]) == 1 << 5  # Manage Server

    def descriptions(options: list[JSON], path: str) -> list[tuple[str, str]]:
        found = []
        for option in options:
            where = f"{path} {option['name']}"
            found.append((where, option.get("description", "")))
            found += descriptions(option.get("options", []), where)
        return found

    every = [d for c in fake_discord.synced_commands(1000) for d in descriptions(c.get("options", []), c["name"])]
    assert [where for where, text in every if text in ("", "…")] == []  # each option says what it is


async def test_global_sync_without_a_test_guild(make_bot: Callable[..., StudyBot], start_bot: BotStarter,
                                                fake_discord: FakeDiscord) -> None:  # fmt: skip
    await start_bot(make_bot(discord_test_guild=None))
    assert {c["name"] for c in fake_discord.synced_commands()} == COMMANDS


async def test_ask_defers_then_answers_with_sources_feedback_and_related_questions(
    bot: StudyBot, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    interaction = await fake.slash("ask", {"question": "why does my loss go nan? @everyone"}, user=fake.member)
    callback = await fake.wait_for_callback(interaction)
    assert callback.type == 5 and not callback.ephemeral  # deferred within 3 s: "thinking..."
    answer = await fake.wait_for_followup(interaction)
    embed = answer["embeds"][0]
    assert embed["title"] == "why does my loss go nan? @everyone"
    sources = next(f for f in answer["embeds"][-1]["fields"] if f["name"] == "Sources")
    assert "[1]" in sources["value"] and "Why the training loss becomes NaN" in sources["value"]
    assert ".md" not in str(answer["embeds"])  # sources are note titles and sections, never paths
    assert re.search(r"\[1\]", embed["description"])
    ids = _custom_ids(answer)
    assert ids[:2] == ["sbfb:1", "sbfb:0"] and 2 <= len(ids) - 2 <= 3 and all(i.startswith("sbrq:") for i in ids[2:])
    assert "You might also ask" not in str(answer["embeds"])  # the related questions are the buttons, once
    cards = bot.services.cards.by_id
    assert [b["label"] for b in _buttons(answer)[2:]] == [clip(cards[i[5:]].question, 80) for i in ids[2:]]
    assert "about: " in answer["embeds"][-1]["footer"]["text"]
    request = fake.find_requests("POST", rf"/webhooks/.*/{interaction.token}")[-1]
    assert request.json["allowed_mentions"] == NO_PINGS

    click = await fake.click(answer, "sbfb:1", user=fake.member)
    thanks = await fake.wait_for_callback(click)
    assert thanks.ephemeral and "Thanks" in thanks.data["content"]
    exported = await bot.services.db.export_user(f"discord:{fake.member.id}")
    assert exported["feedback"][0]["helpful"] is True and "nan" in exported["feedback"][0]["question"]

    # A related question's button asks it: a new answer, with the card's question as its title.
    card_id = ids[2].removeprefix("sbrq:")
    asked = await fake.click(answer, ids[2], user=fake.member)
    assert (await fake.wait_for_callback(asked)).type == 5
    second = await fake.wait_for_followup(asked)
    assert second["embeds"][0]["title"] == bot.services.cards.by_id[card_id].question


async def test_an_i_dont_know_has_no_feedback_buttons(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    interaction = await fake.slash("ask", {"question": "How long should I knead bread dough?"}, user=fake.member)
    answer = await fake.wait_for_followup(interaction)
    assert "can't answer" in answer["embeds"][0]["description"]
    assert _custom_ids(answer) == []


async def test_a_follow_up_in_the_same_channel_keeps_the_subject(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    first = await fake.slash("ask", {"question": "what is dropout"}, user=fake.member)
    await fake.wait_for_followup(first)
    second = await fake.slash("ask", {"question": "why does it work?"}, user=fake.member)
    answer = await fake.wait_for_followup(second)
    assert answer["embeds"][0]["title"] == "why does it work?"
    assert "dropout" in answer["embeds"][0]["description"].lower()
    other = await fake.slash("ask", {"question": "why does it work?"}, user=fake.other_member)
    assert "dropout" not in str((await fake.wait_for_followup(other))["embeds"]).lower()  # not their subject


async def test_ask_private_and_bad_questions(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    private = await fake.slash("ask", {"question": "what is dropout", "private": True}, user=fake.member)
    assert (await fake.wait_for_callback(private)).ephemeral
    empty = await fake.slash("ask", {"question": "   "}, user=fake.member)
    refused = await fake.wait_for_callback(empty)
    assert refused.ephemeral and "empty" in refused.data["content"]
    await fake.wait_for_followup(private)  # the answer itself
    metrics = bot.services.metrics.registry
    async with asyncio.timeout(30):  # the completion event follows the command's return
        while not metrics.get_sample_value("studybot_commands_total", {"command": "ask"}):
            await asyncio.sleep(0.01)
    assert metrics.get_sample_value("studybot_commands_total", {"command": "ask"}) == 1  # the refused one is not
    assert metrics.get_sample_value("studybot_errors_total", {"kind": "InvalidQuestion"}) == 1
    assert metrics.get_sample_value("studybot_answer_seconds_count", {"composer": "card"}) == 1


EPHEMERAL = 64
GREEN, RED, GREY = 3, 4, 2


def _buttons(message: JSON) -> list[JSON]:
    return [c for row in message.get("components", []) for c in row.get("components", []) if c.get("type") == 2]


async def _closed_question(fake: FakeDiscord, answered: Any) -> JSON:
    """The question message as the bot edited it after grading (a deferred update of the original)."""
    edit = await fake.wait_for_request("PATCH", rf"/webhooks/\d+/{answered.token}/messages/@original")
    return edit.json  # type: ignore[no-any-return]


async def _press(fake: FakeDiscord, message_id: int | str, prefix: str, user: Any) -> Any:
    """Click the button whose custom id starts with ``prefix`` on the message as it is now."""
    message = fake.get_message(int(message_id))
    assert message is not None
    custom_id = next(i for i in _custom_ids(message) if i.startswith(prefix))
    return await fake.click(message, custom_id, user=user)


async def test_solo_quiz_is_private_keeps_its_buttons_and_survives_a_restart(
    make_bot: Callable[..., StudyBot], start_bot: BotStarter, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    bot = await start_bot(make_bot())
    start = await cmd(fake, "quiz start", {"topic": "probability", "count": 2}, user=fake.member)
    assert (await fake.wait_for_callback(start)).ephemeral  # even "thinking" is private
    first = await fake.wait_for_followup(start)
    assert first["flags"] & EPHEMERAL and first["embeds"][0]["title"] == "Question 1/2"
    assert "Probability" in first["embeds"][0]["footer"]["text"]  # the topic's title, not its slug
    assert {i.split(":")[0] for i in _custom_ids(first)} >= {"sbqk", "sbqx"}  # Skip and Stop
    intruder = await _answer_quiz_question(fake, bot, first, fake.other_member, right=True)
    assert "someone else" in (await fake.wait_for_callback(intruder)).data["content"]

    clicked = await _answer_quiz_question(fake, bot, first, fake.member, right=True)
    assert (await fake.wait_for_callback(clicked)).type == 6  # acknowledged at once, as a deferred update
    closed = await _closed_question(fake, clicked)
    assert "Correct!" in closed["embeds"][1]["description"]
    assert "notes/" not in closed["embeds"][1]["footer"]["text"]  # sources by title and section
    buttons = _buttons(closed)
    choices = [b for b in buttons if b["custom_id"].startswith("sbqd:")]
    assert all(b.get("disabled") for b in choices)  # kept, so the learner sees what they picked
    if choices:  # a multiple-choice or true/false question: the right option is green
        assert [b["style"] for b in choices].count(GREEN) >= 1 and RED not in [b["style"] for b in choices]
    assert [b["label"] for b in buttons if not b.get("disabled")] == ["Next ▶"]  # nothing moves on by itself

    nxt = await _press(fake, first["id"], "sbqn:", fake.member)
    second = await fake.wait_for_followup(nxt)
    assert second["flags"] & EPHEMERAL and second["embeds"][0]["title"] == "Question 2/2"
    assert not [b for b in _buttons(fake.get_message(int(first["id"])) or {}) if not b.get("disabled")]

    await bot.close()  # the bot restarts mid-quiz
    bot = await start_bot(make_bot())
    last = await _answer_quiz_question(fake, bot, second, fake.member, right=False)
    await fake.wait_for_callback(last)
    closed = await _closed_question(fake, last)
    choices = [b for b in _buttons(closed) if b["custom_id"].startswith("sbqd:")]
    if choices:
        styles = [b["style"] for b in choices]
        assert GREEN in styles and (RED in styles or len(choices) == 1)  # the right one, and the wrong pick
    results = await _press(fake, second["id"], "sbqn:", fake.member)
    summary = await fake.wait_for_followup(results)
    assert summary["flags"] & EPHEMERAL and summary["embeds"][0]["title"] == "Quiz finished"
    assert "1/2" in summary["embeds"][0]["description"]
    assert [b["label"] for b in _buttons(summary)] == ["Review what I missed", "New quiz"]
    attempts = await bot.services.db.attempts(f"discord:{fake.member.id}")
    assert [a.correct for a in attempts] == [True, False]

    again = await _press(fake, summary["id"], "sbqr:", fake.member)
    retry = await fake.wait_for_followup(again)
    assert retry["embeds"][0]["title"] == "Review 1/1" and "review" in retry["embeds"][0]["footer"]["text"]
    assert "You missed this one in your quiz (Probability" in retry["embeds"][0]["description"]
    assert retry["flags"] & EPHEMERAL


async def test_skip_stop_and_resume_a_solo_quiz(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    start = await cmd(fake, "quiz start", {"topic": "sql", "count": 3}, user=fake.member)
    first = await fake.wait_for_followup(start)
    skipped = await _press(fake, first["id"], "sbqk:", fake.member)
    update = await fake.wait_for_callback(skipped)
    assert update.type == 7 and "Skipped" in update.data["embeds"][1]["description"]
    assert all(b.get("disabled") for b in _buttons(update.data))
    second = await fake.wait_for_followup(skipped)
    assert second["embeds"][0]["title"] == "Question 2/3" and second["flags"] & EPHEMERAL

    stopped = await _press(fake, second["id"], "sbqx:", fake.member)
    update = await fake.wait_for_callback(stopped)
    assert update.type == 7 and update.data["components"] == []
    assert "Paused at question 2 of 3" in update.data["embeds"][1]["description"]

    resumed = await cmd(fake, "quiz start", user=fake.member)  # no options: carry on
    again = await fake.wait_for_followup(resumed)
    assert again["embeds"][0]["title"] == "Question 2/3"
    assert "Carrying on with your quiz" in again["embeds"][0]["description"]
    assert _custom_ids(again)[0].split(":")[1] == _custom_ids(second)[0].split(":")[1]  # the same session

    fresh = await cmd(fake, "quiz start", {"count": 1}, user=fake.member)  # an option: a new quiz
    new = await fake.wait_for_followup(fresh)
    assert new["embeds"][0]["title"] == "Question 1/1"
    assert await bot.services.quizzes.resumable(f"discord:{fake.member.id}") is not None  # only the new one
    old_sid = _custom_ids(second)[0].split(":")[1]
    assert (await bot.services.quizzes.load(old_sid)).finished


async def test_flashcards_show_the_answer_rate_it_pause_and_carry_on(
    make_bot: Callable[..., StudyBot], start_bot: BotStarter, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    bot = await start_bot(make_bot())
    start = await cmd(fake, "cards", {"topic": "probability", "count": 3}, user=fake.member)
    assert (await fake.wait_for_callback(start)).ephemeral
    card = await fake.wait_for_followup(start)
    embed = card["embeds"][0]
    assert card["flags"] & EPHEMERAL and embed["title"] == "Flashcard 1 of 3" and "3 new cards" in embed["description"]
    footer = embed["footer"]["text"]
    assert footer.startswith("Probability") and footer.endswith(" · new card")  # the topic's title, no slug
    assert [b["label"] for b in _buttons(card)] == ["Show answer", "Stop"]
    flashcards = bot.services.flashcards
    first_id = flashcards.card(await flashcards.load(_custom_ids(card)[0].split(":")[1]))
    assert first_id.answer not in embed["description"]  # the answer stays hidden until asked for

    intruder = await _press(fake, card["id"], "sbfs:", fake.other_member)
    assert "someone else" in (await fake.wait_for_callback(intruder)).data["content"]
    shown = await _press(fake, card["id"], "sbfs:", fake.member)
    update = await fake.wait_for_callback(shown)
    assert update.type == 7 and first_id.answer[:40] in update.data["embeds"][0]["description"]
    assert ".md" not in str(update.data["embeds"]) and "Read more" in str(update.data["embeds"])
    labels = [b["label"] for b in _buttons(update.data)]
    assert [label.split(" · ")[0] for label in labels] == ["Again", "Hard", "Good", "Easy", "Stop"]
    assert all(" · " in label and label[-1] in "mhdy" for label in labels[:4])  # when the card comes back
    assert [b["style"] for b in _buttons(update.data)][:4] == [RED, GREY, GREEN, 1]

    await bot.close()  # a restart between showing and rating: the buttons still work
    bot = await start_bot(make_bot())
    good = await _press(fake, card["id"], "sbfr:", fake.member)  # the first rating button: Again
    second = (await fake.wait_for_callback(good)).data
    assert second["embeds"][0]["title"] == "Flashcard 2 of 3"
    assert "Again: that card comes back in" in second["embeds"][0]["description"]

    stop = await _press(fake, card["id"], "sbfx:", fake.member)
    paused = (await fake.wait_for_callback(stop)).data
    assert "Paused at card 2 of 3" in paused["embeds"][0]["description"] and paused["components"] == []
    again = await cmd(fake, "cards", user=fake.member)  # no options: carry on
    resumed = await fake.wait_for_followup(again)
    assert resumed["embeds"][0]["title"] == "Flashcard 2 of 3" and "Carrying on" in resumed["embeds"][0]["description"]
    for _ in range(2):
        await fake.wait_for_callback(await _press(fake, resumed["id"], "sbfs:", fake.member))
        rated = await fake.click(resumed["id"], next(i for i in _custom_ids(fake.get_message(int(resumed["id"])) or {})
                                                     if i.endswith(":3")), user=fake.member)  # fmt: skip
        done = (await fake.wait_for_callback(rated)).data
    assert done["embeds"][0]["title"] == "Flashcards done" and "Again 1 · Hard 0 · Good 2 · Easy 0" in str(done)
    assert "next card is due in" in done["embeds"][0]["description"]

    logs = await bot.services.db.review_logs(f"discord:{fake.member.id}")
    assert [(r.kind, r.rating) for r in logs] == [("flashcard", 1), ("flashcard", 3), ("flashcard", 3)]
    assert all(r.review_duration is not None for r in logs)


async def test_a_daily_reminder_is_opt_in_sent_once_and_starts_the_reviews(
    bot: StudyBot, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    cog: Any = bot.get_cog("Reminders")  # an instance of the extension's own copy of the module
    assert cog is not None
    user = f"discord:{fake.member.id}"
    await bot.services.db.ensure_user(user, "Ben")
    card = bot.services.flashcards.cards["bias-variance-c01"]
    past = datetime.now(UTC) - timedelta(hours=1)
    await bot.services.db.record_review(ReviewRecord(user, card.id, "flashcard", 1, past), {"card_id": 1}, past)
    assert await cog.send_due() == 0  # off by default, even with something due

    on = await cmd(fake, "reminders on", {"hour": 0}, user=fake.member)
    assert (await fake.wait_for_callback(on)).ephemeral
    assert "direct message" in (await fake.wait_for_followup(on))["content"]
    mark = len(fake.requests)
    assert await cog.send_due() == 1
    dm = (await fake.wait_for_request("POST", r"/channels/\d+/messages", after=mark)).json
    sent = next(m for m in fake.messages_log if m["embeds"] and m["embeds"][0]["title"] == "Time for today's reviews")
    assert fake.channel(int(sent["channel_id"])).type == 1  # a direct message
    assert "1 flashcard due" in dm["embeds"][0]["description"]
    assert [b["label"] for b in _buttons(sent)] == ["Start my reviews", "Turn reminders off"]
    assert await cog.send_due() == 0  # once a day

    start = await fake.click(sent, "sbrm:start", user=fake.member)
    cards = await fake.wait_for_followup(start)
    assert cards["flags"] & EPHEMERAL and card.question in cards["embeds"][0]["description"]
    assert "1 due for review" in cards["embeds"][0]["description"]
    off = await fake.click(sent, "sbrm:off", user=fake.member)
    assert "off" in (await fake.wait_for_callback(off)).data["content"]
    assert await bot.services.db.reminder(user) is None

    channel = await cmd(fake, "reminders on", {"hour": 0, "channel": fake.general.id}, user=fake.member)
    assert fake.general.mention in (await fake.wait_for_followup(channel))["content"]
    await bot.services.db.reminder_sent(user, "2000-01-01")
    mark = len(fake.requests)
    assert await cog.send_due() == 1
    posted = (await fake.wait_for_request("POST", rf"/channels/{fake.general.id}/messages", after=mark)).json
    assert posted["content"] == f"<@{fake.member.id}>"  # pings the learner who asked, nobody else
    mentions = posted["allowed_mentions"]
    assert [str(u) for u in mentions["users"]] == [str(fake.member.id)] and mentions["parse"] == []


async def test_channel_quiz_ranks_everyone(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    start = await cmd(fake, "quiz start", {"topic": "sql", "count": 1, "channel": True}, user=fake.admin)
    question = await fake.wait_for_followup(start)
    for user, right in ((fake.member, True), (fake.other_member, False)):
        answered = await _answer_quiz_question(fake, bot, question, user, right)
        reply = await fake.wait_for_callback(answered)
        assert reply.type == 5 and reply.ephemeral  # a private "thinking", then the result to that user only
        assert "Correct!" in (await fake.wait_for_followup(answered))["embeds"][0]["description"] or not right
    nxt = next(i for i in _custom_ids(question) if i.startswith("sbqn:"))
    refused = await fake.click(question, nxt, user=fake.member)
    assert "Only the quiz host" in (await fake.wait_for_callback(refused)).data["content"]
    closed = await fake.click(question, nxt, user=fake.admin)
    update = await fake.wait_for_callback(closed)
    assert update.type == 7 and f"<@{fake.member.id}>" in update.data["embeds"][1]["description"]
    assert update.body["data"].get("allowed_mentions", NO_PINGS) == NO_PINGS
    ranking = await fake.wait_for_message(
        predicate=lambda m: bool(m["embeds"]) and m["embeds"][0].get("title") == "Quiz finished"
    )
    lines = ranking["embeds"][0]["description"].splitlines()
    assert "1.0 points" in lines[0] and "0.0 points" in lines[1]


async def test_quiz_autocomplete(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    choices = await fake_discord.autocomplete("quiz", subcommand="start", options={"area": "mat"}, focused="area")
    assert [c["value"] for c in choices] == ["math"]
    topics = await fake_discord.autocomplete(
        "quiz", subcommand="start", options={"area": "math", "topic": "prob"}, focused="topic"
    )
    assert [c["value"] for c in topics] == ["probability"]


async def test_solo_interview_in_a_thread(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    start = await cmd(fake, "interview start", {"topic": "regularization", "questions": 3}, user=fake.member,
                             channel=fake.study)  # fmt: skip
    done = await fake.wait_for_followup(start)
    thread = fake.threads[-1]
    assert thread.mention in done["content"]
    question = await fake.wait_for_message(thread, predicate=lambda m: bool(m["embeds"]))
    assert question["embeds"][0]["title"].startswith("Question 1/3")
    topic = bot.services.topics.title_of("regularization")
    assert question["embeds"][0]["footer"]["text"].startswith(f"{topic} · ")  # the topic's title, not its id
    session = (await bot.services.interviews.active_for(channel_id=str(thread.id)))[0]
    item = session.questions[0]
    mark = len(fake.messages_log)
    await fake.message(" ".join(item.key_points), user=fake.member, channel=thread)
    feedback = await fake.wait_for_message(thread, after=mark, predicate=lambda m: bool(m["embeds"]))
    assert feedback["embeds"][0]["title"].startswith("Q1 · ") and "correct" in feedback["embeds"][0]["title"]
    shown = await _press(fake, feedback["id"], "sbim:", fake.other_member)  # anyone may look, privately
    reveal = await fake.wait_for_callback(shown)
    assert reveal.ephemeral and "A strong answer to Q1" in reveal.data["content"]
    nxt = await fake.wait_for_message(
        thread, after=mark, predicate=lambda m: bool(m["embeds"]) and "Question 2/3" in m["embeds"][0].get("title", "")
    )
    assert [b["label"] for b in _buttons(nxt)] == ["Answer in a form", "Skip question", "End interview"]
    mark = len(fake.messages_log)
    skipped = await _press(fake, nxt["id"], "sbik:", fake.member)
    assert "skipped" in (await fake.wait_for_callback(skipped)).data["content"]
    third = await fake.wait_for_message(
        thread, after=mark, predicate=lambda m: bool(m["embeds"]) and "Question 3/3" in m["embeds"][0].get("title", "")
    )
    refused = await _press(fake, third["id"], "sbie:", fake.other_member)
    assert (await fake.wait_for_callback(refused)).ephemeral  # only the host ends it
    ended = await _press(fake, third["id"], "sbie:", fake.member)
    closed = await fake.wait_for_callback(ended)
    assert closed.type == 7 and closed.data["components"] == []  # the last question's buttons are gone
    final = await fake.wait_for_followup(ended)
    assert final["content"] == "Interview ended." and final["embeds"][0]["title"].startswith("Scorecard: ")
    assert "(skipped)" not in final["embeds"][0]["description"] or "Q2" in final["embeds"][0]["description"]
    assert "Q1 regularization:" not in final["embeds"][0]["description"]  # topic titles, not slugs
    strengths = next(f["value"] for f in final["embeds"][0]["fields"] if f["name"] == "Strengths")
    assert all(re.fullmatch(r"• Q\d: \d+ of \d+ key points, e\.g\. .+", line) for line in strengths.splitlines())


async def test_a_bad_interview_topic_is_refused_privately_before_any_thread(
    bot: StudyBot, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    threads = len(fake.threads)
    start = await cmd(fake, "interview start", {"topic": "quantum-knitting"}, user=fake.member, channel=fake.study)
    reply = await fake.wait_for_callback(start)
    assert reply.ephemeral and "No interview questions" in reply.data["content"]
    assert len(fake.threads) == threads  # no orphan thread
    choices = await fake.autocomplete("interview", subcommand="start", options={"topic": "regul"}, focused="topic")
    assert any(c["value"] == "regularization" for c in choices)


async def test_group_interview_with_join_and_turns(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    start = await cmd(fake, "interview start", {"questions": 3, "group": True}, user=fake.admin, channel=fake.study)
    await fake.wait_for_followup(start)
    thread = fake.threads[-1]
    lobby = await fake.wait_for_message(thread, predicate=lambda m: bool(_custom_ids(m)))
    join = next(i for i in _custom_ids(lobby) if i.startswith("sbij:"))
    begin = next(i for i in _custom_ids(lobby) if i.startswith("sbib:"))
    joined = await fake.click(lobby, join, user=fake.member)
    assert "joined" in (await fake.wait_for_callback(joined)).data["content"]
    not_host = await fake.click(lobby, begin, user=fake.member)
    assert (await fake.wait_for_callback(not_host)).ephemeral
    assert thread.name.startswith("Group mock interview")  # named for the group, not the host
    started = await fake.click(lobby, begin, user=fake.admin)
    update = await fake.wait_for_callback(started)
    assert update.type == 7 and "Join" not in update.data["content"] and "under way" in update.data["content"]
    session = (await bot.services.interviews.active_for(channel_id=str(thread.id)))[0]
    for turn in range(3):
        prompt = session.current_prompt()
        assert prompt is not None
        user = fake.admin if prompt.user_ids[0] == f"discord:{fake.admin.id}" else fake.member
        mark = len(fake.messages_log)
        await fake.message("I would skip this one, sorry.", user=user, channel=thread)
        await fake.wait_for_message(thread, after=mark)
        session = await bot.services.interviews.load(session.id)
        if session.current_prompt() is not None and session.current_prompt().is_follow_up:  # type: ignore[union-attr]
            mark = len(fake.messages_log)
            await fake.message("Still not sure.", user=user, channel=thread)
            await fake.wait_for_message(thread, after=mark)
            session = await bot.services.interviews.load(session.id)
        del turn
    cards = await fake.wait_for_message(
        thread, predicate=lambda m: bool(m["embeds"]) and m["embeds"][0].get("title", "").startswith("Scorecard")
    )
    titles = [
        m["embeds"][0].get("title", "")
        for m in fake.channel_messages(thread)
        if m["embeds"] and m["embeds"][0].get("title", "").startswith("Scorecard")
    ]
    assert cards and len(titles) == 2  # one scorecard per member
    wrap_up = await fake.wait_for_message(
        thread, predicate=lambda m: bool(m["embeds"]) and m["embeds"][0].get("title", "") == "Group wrap-up"
    )
    standings = wrap_up["embeds"][0]["description"].splitlines()
    assert len(standings) == 2 and all(any(name in line for line in standings) for name in ("Ada Admin", "Ben Student"))


async def test_mentions_only_where_enabled_and_reply_follow_ups(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    mark = len(fake.messages_log)
    await fake.message(f"{fake.bot_user.mention} what is dropout?", user=fake.member, channel=fake.general,
                       mentions=[fake.bot_user])  # fmt: skip
    enable = await cmd(fake, "mentions enable", {"channel": fake.general.id}, user=fake.admin)
    assert "now answer" in (await fake.wait_for_callback(enable)).data["content"]
    assert not [m for m in fake.messages_log[mark:] if m["author"]["id"] == str(fake.bot_user.id) and m["embeds"]]
    await fake.message(f"{fake.bot_user.mention} what is dropout?", user=fake.member, channel=fake.general,
                       mentions=[fake.bot_user])  # fmt: skip
    answer = await fake.wait_for_message(fake.general, predicate=lambda m: bool(m["embeds"]))
    assert answer["embeds"][0]["title"] == "what is dropout?"
    assert (
        fake.find_requests("POST", rf"/channels/{fake.general.id}/messages")[-1].json["allowed_mentions"]["parse"] == []
    )
    mark = len(fake.messages_log)
    await fake.message("and at inference time?", user=fake.member, channel=fake.general, reference=answer)
    # Wait for the follow-up's own answer: an edit of the first answer may land after `mark` too.
    follow = await fake.wait_for_message(
        fake.general, after=mark,
        predicate=lambda m: bool(m["embeds"]) and m["embeds"][0].get("title") == "and at inference time?",
    )  # fmt: skip
    assert follow["embeds"][0]["title"] == "and at inference time?"
    assert "dropout" in follow["embeds"][0]["description"].lower()  # the earlier question kept the context


async def test_admin_commands_need_manage_server(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    denied = await cmd(fake, "material list", user=fake.member, force=True)
    reply = await fake.wait_for_callback(denied)
    assert reply.ephemeral and "Manage Server" in reply.data["content"]


async def test_material_upload_is_checked_ingested_and_removable(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    exe = fake.attachment("tool.exe", b"MZ\x00\x00")
    refused = await cmd(fake, "material add", {"file": exe}, user=fake.admin)
    assert "only read" in (await fake.wait_for_callback(refused)).data["content"]
    note = fake.attachment("club-notes.md", b"# Zebra sampling\n\nZebra sampling picks every third striped row.\n",
                           content_type="text/markdown")  # fmt: skip
    added = await cmd(fake, "material add", {"file": note}, user=fake.admin)
    assert "Added `club-notes.md`" in (await fake.wait_for_followup(added))["content"]
    listed = await cmd(fake, "material list", user=fake.admin)
    assert "club-notes.md" in (await fake.wait_for_callback(listed)).data["content"]
    asked = await fake.slash("ask", {"question": "what is zebra sampling?"}, user=fake.member)
    assert "striped row" in (await fake.wait_for_followup(asked))["embeds"][0]["description"]
    removed = await cmd(fake, "material remove", {"name": "club-notes.md"}, user=fake.admin)
    assert "Removed" in (await fake.wait_for_followup(removed))["content"]


async def test_progress_leaderboard_topics_sources(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    progress = await fake.slash("progress", user=fake.member)
    await fake.wait_for_callback(progress)
    shown = await fake.wait_for_followup(progress)
    assert shown["embeds"][0]["image"]["url"] == "attachment://mastery.png"
    upload = fake.find_requests("POST", rf"/webhooks/.*/{progress.token}")[-1]
    assert [f.filename for f in upload.files] == ["mastery.png"]
    board = await fake.slash("leaderboard", user=fake.member)
    assert "Leaderboard of Study Group" in (await fake.wait_for_followup(board))["embeds"][0]["title"]
    topics = await fake.slash("topics", user=fake.member)
    assert len((await fake.wait_for_callback(topics)).data["embeds"][0]["fields"]) == 12
    sources = await fake.slash("sources", user=fake.member)
    listed = (await fake.wait_for_followup(sources))["embeds"][0]
    assert "documents" in listed["title"] and "Regularization" in listed["description"]  # titles, not paths


async def test_forget_me_after_confirmation(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    await bot.services.db.ensure_user(f"discord:{fake.member.id}", "Member")
    asked = await fake.slash("forget-me", user=fake.member)
    prompt = await fake.wait_for_callback(asked)
    message = prompt.message or fake.get_message(asked.original_message_id)  # type: ignore[arg-type]
    confirm = next(i for i in _custom_ids(message) if i)
    clicked = await fake.click(message, label="Delete my data", user=fake.member)
    await fake.wait_for_callback(clicked)
    await fake.wait_for_request("PATCH", r"/webhooks/.*/messages/@original")
    assert (await bot.services.db.export_user(f"discord:{fake.member.id}"))["user"]["name"] == ""
    del confirm


async def test_discord_429_and_500_are_retried(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.fail_next("POST", r"/webhooks/.*", status=429, retry_after=0.2)
    asked = await fake.slash("ask", {"question": "what is precision?"}, user=fake.member)
    assert (await fake.wait_for_followup(asked, timeout=WAIT))["embeds"]
    fake.fail_next("POST", r"/webhooks/.*", status=500)
    again = await fake.slash("ask", {"question": "what is recall?"}, user=fake.member)
    assert (await fake.wait_for_followup(again, timeout=WAIT))["embeds"]
    assert len(fake.find_requests("POST", r"/webhooks/.*")) >= 4  # each failure was retried once


async def test_rate_limit_is_a_friendly_cooldown(
    make_bot: Callable[..., StudyBot], start_bot: BotStarter, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    await start_bot(make_bot(rate_limit_per_minute=2))
    for _ in range(2):
        ok = await fake.slash("topics", user=fake.member)
        assert (await fake.wait_for_callback(ok)).data["embeds"]
    third = await fake.slash("topics", user=fake.member)
    cooldown = await fake.wait_for_callback(third)
    assert cooldown.ephemeral and "Slow down" in cooldown.data["content"]
    other = await fake.slash("topics", user=fake.other_member)
    assert (await fake.wait_for_callback(other)).data["embeds"]  # limits are per user


SLUGS = re.compile(r"\b[a-z0-9]+(?:[-_][a-z0-9]+)+\b|\.md\b|notes/")  # topic/area ids, note paths


def _no_slugs_or_footer_timestamps(message: JSON) -> None:
    """No topic id or note path in what the bot wrote (a question's own wording, which may well say
    "cross-validation", is left out), and no timestamp markup in a footer, where Discord shows it raw."""
    embeds = message.get("embeds", [])
    written = [b.get("label", "") for b in _buttons(message)]
    for e in embeds:
        written += [e.get("title", ""), (e.get("footer") or {}).get("text", "")]
        written += [f"{f['name']} {f['value']}" for f in e.get("fields", [])]
        lines = e.get("description", "").splitlines()
        asked = e.get("title", "").startswith(("Question", "Review"))
        # In a question, the bot's own lines are its italic notes; the choices (**A.** ...) are content.
        written += [line for line in lines if not asked or (line.startswith("*") and not line.startswith("**"))]
    assert not SLUGS.findall(" ".join(written)), SLUGS.findall(" ".join(written))
    assert all("<t:" not in (e.get("footer") or {}).get("text", "") for e in embeds)


async def _seed(bot: StudyBot, user: str, item_id: str, correct: bool, due_in: timedelta) -> None:
    """An answer on the learner's record, with its review coming due ``due_in`` from now (tests may not
    wait for fsrs's minutes)."""
    from fsrs import Card

    from bot.study.store import AttemptRecord

    item = bot.services.quizzes.item(item_id)
    now = datetime.now(UTC)
    attempt = AttemptRecord(user, item.id, "quiz", item.area, item.topic, float(correct), correct, now, "1000")
    card = Card(due=now + due_in)
    await bot.services.db.record_attempt(attempt, card=dict(card.to_dict()), due=card.due)


async def test_quiz_review_says_why_and_offers_weak_topics_when_nothing_is_due(
    bot: StudyBot, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    user = f"discord:{fake.member.id}"
    # A new learner: no ten random questions, but a first quiz on offer.
    first_time = await cmd(fake, "quiz review", user=fake.member)
    offer = await fake.wait_for_followup(first_time)
    assert offer["flags"] & EPHEMERAL and offer["embeds"][0]["title"] == "Nothing to review right now"
    assert [b["label"] for b in _buttons(offer)] == ["Start a first quiz"]
    assert await bot.services.quizzes.resumable(user) is None
    started = await _press(fake, offer["id"], "sbqf:", fake.member)
    assert (await fake.wait_for_followup(started))["embeds"][0]["title"] == "Question 1/5"

    # A miss on calibration that is not due yet: the review says so and offers that weak topic.
    start = await cmd(fake, "quiz start", {"topic": "calibration", "count": 1}, user=fake.member)
    question = await fake.wait_for_followup(start)
    missed = await _answer_quiz_question(fake, bot, question, fake.member, right=False)
    await fake.wait_for_callback(missed)
    await _closed_question(fake, missed)
    sid = _custom_ids(question)[0].split(":")[1]
    missed_id = (await bot.services.quizzes.load(sid)).item_ids[0]
    await _seed(bot, user, missed_id, correct=False, due_in=timedelta(hours=3))  # fsrs said 1 minute
    nothing = await cmd(fake, "quiz review", user=fake.member)
    offer = await fake.wait_for_followup(nothing)
    description = offer["embeds"][0]["description"]
    assert "Nothing is due for review now; the next review is due <t:" in description
    assert "• Probability calibration · mastery 0%" in description
    assert [b["label"] for b in _buttons(offer)] == ["Practise Probability calibration"]
    _no_slugs_or_footer_timestamps(offer)
    practise = await _press(fake, offer["id"], "sbqp:", fake.member)
    review = await fake.wait_for_followup(practise)
    assert review["flags"] & EPHEMERAL and review["embeds"][0]["title"].startswith("Review 1/")
    why = "From Probability calibration, one of your weakest topics (0% mastery)."
    assert why in review["embeds"][0]["description"]
    assert {i.split(":")[0] for i in _custom_ids(review)} >= {"sbqk", "sbqx"}  # Skip and Stop
    _no_slugs_or_footer_timestamps(review)

    # Something due: a review of the chosen length, saying why each question is there; Stop pauses it.
    due_id = next(i.id for i in bot.services.quiz_items if i.topic == "sql")
    await _seed(bot, user, due_id, correct=False, due_in=-timedelta(hours=2))
    due = await cmd(fake, "quiz review", {"count": 2}, user=fake.member)
    first = await fake.wait_for_followup(due)
    embed = first["embeds"][0]
    assert embed["title"] == "Review 1/2" and "review" in embed["footer"]["text"]
    assert "A review of 2 question(s): 1 due for review and 1 from your weakest topics." in embed["description"]
    assert re.search(r"Due for review since <t:\d+:R> \(SQL: joins", embed["description"])
    _no_slugs_or_footer_timestamps(first)
    stopped = await _press(fake, first["id"], "sbqx:", fake.member)
    paused = (await fake.wait_for_callback(stopped)).data
    assert "Paused at question 1 of 2" in paused["embeds"][1]["description"] and "review" in str(paused)


async def test_progress_numbers_add_up_and_leaderboard_says_what_points_are(
    bot: StudyBot, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    user = f"discord:{fake.member.id}"
    fresh = await fake.slash("progress", user=fake.member)
    shown = (await fake.wait_for_followup(fresh))["embeds"][0]
    assert "No answers yet" in shown["description"] and "nothing scheduled yet" in shown["description"]

    await bot.services.db.ensure_user(user, "Ben Student", "1000")
    sql = [i.id for i in bot.services.quiz_items if i.topic == "sql"]
    await _seed(bot, user, sql[0], correct=True, due_in=timedelta(minutes=10))
    await _seed(bot, user, sql[1], correct=True, due_in=timedelta(minutes=10))
    probability = next(i.id for i in bot.services.quiz_items if i.topic == "probability")
    await _seed(bot, user, probability, correct=False, due_in=-timedelta(minutes=1))  # a miss, due again
    progress = await fake.slash("progress", user=fake.member)
    message = await fake.wait_for_followup(progress)
    embed = message["embeds"][0]
    assert "**3** answers, **2** right (67%), on 2 topics in 2 of 12 areas" in embed["description"]
    assert "Reviews: **1** due now, **2** more within a day" in embed["description"]
    assert [f["name"] for f in embed["fields"]] == ["Weakest topics", "What mastery means"]
    weakest = embed["fields"][0]["value"].splitlines()
    assert weakest[0].startswith("Probability:") and weakest[0].endswith(" · 0% (0/1 right)")
    assert weakest[1].startswith("SQL:") and weakest[1].endswith(" · 50% (2/2 right)")  # 2 of 2: half way, not 8%
    assert "one right answer gives 33%" in embed["fields"][1]["value"]
    areas = [a.title for a in bot.services.topics.areas]
    assert not [a for a in areas if a in str(embed)]  # per-area mastery is in the chart alone
    _no_slugs_or_footer_timestamps(message)
    upload = fake.find_requests("POST", rf"/webhooks/.*/{progress.token}")[-1]
    assert upload.files[0].filename == "mastery.png" and upload.files[0].data.startswith(b"\x89PNG")

    board = await fake.slash("leaderboard", user=fake.member)
    shown = (await fake.wait_for_followup(board))["embeds"][0]
    assert shown["description"].splitlines()[0] == "**1.** Ben Student: 2.0 points (3 answers, 2 right)"
    assert shown["footer"]["text"].startswith("Points: every answer") and "last 7 days" in shown["footer"]["text"]


async def test_interview_answer_through_a_modal_and_a_timeout(bot: StudyBot, fake_discord: FakeDiscord) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.study.interview import InterviewService

    fake = fake_discord
    services = bot.services
    skew = [timedelta(0)]  # how far this test has moved the interview clock forward
    services.__dict__["interviews"] = InterviewService(
        services.db, services.grader, services.interview_questions, time_limit_s=120,
        clock=lambda: datetime.now(UTC) + skew[0],
    )  # fmt: skip
    start = await cmd(
        fake, "interview start", {"topic": "docker", "questions": 3}, user=fake.member, channel=fake.study
    )
    await fake.wait_for_followup(start)
    thread = fake.threads[-1]
    question = await fake.wait_for_message(thread, predicate=lambda m: bool(m["embeds"]))
    session = (await services.interviews.active_for(channel_id=str(thread.id)))[0]
    opened = await fake.click(question, f"sbia:{session.id}", user=fake.member)
    assert (await fake.wait_for_callback(opened)).type == 9  # a modal
    mark = len(fake.messages_log)
    submitted = await fake.submit_modal(
        f"sbiam:{session.id}", {"answer": " ".join(session.questions[0].key_points)}, user=fake.member, message=question
    )
    await fake.wait_for_callback(submitted)
    shown = await fake.wait_for_followup(submitted)  # the answer itself, as the thread sees it
    assert shown["embeds"][0]["author"]["name"].endswith("answered")
    assert shown["embeds"][0]["description"] == " ".join(session.questions[0].key_points)
    feedback = await fake.wait_for_message(
        thread, after=mark, predicate=lambda m: bool(m["embeds"]) and m["embeds"][0].get("title", "").startswith("Q1")
    )
    assert "correct" in feedback["embeds"][0]["title"]

    # Nobody answers the second question in time: the expiry loop records it and moves on.
    mark = len(fake.messages_log)
    skew[0] = timedelta(minutes=10)
    cog = bot.get_cog("Interview")
    assert cog is not None
    cog.expiry.change_interval(seconds=0.1)  # type: ignore[attr-defined]
    late = await fake.wait_for_message(
        thread, after=mark, timeout=WAIT,
        predicate=lambda m: bool(m["embeds"]) and m["embeds"][0].get("title", "").startswith("Q2"),
    )  # fmt: skip
    assert "incorrect" in late["embeds"][0]["title"] and "in time" in late["embeds"][0]["description"]
