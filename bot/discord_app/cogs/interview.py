"""/interview start|end: mock interviews in a thread, solo or as a group, with a scorecard each."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.discord_app import render
from bot.discord_app.client import report_error
from bot.discord_app.views.common import SID, SessionButton, user_key
from bot.study.errors import StudybotError
from bot.study.interview import InterviewSession, InterviewStep, Scorecard, group_wrap_up

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot

log = logging.getLogger(__name__)
Interaction = discord.Interaction["StudyBot"]
Titles = Callable[[str], str]  # a topic id -> its title
LEVELS = [app_commands.Choice(name=v, value=v) for v in ("junior", "mid", "senior")]
MODES = [
    app_commands.Choice(name="take turns", value="turns"),
    app_commands.Choice(name="everyone answers each question", value="same"),
]


async def post_step(channel: discord.abc.Messageable, step: InterviewStep, titles: Titles) -> None:
    """Everything one interview action produced, in order: feedback, follow-up, next question, scorecards."""
    for fb in step.released:  # the answerer's own feedback is among them when it is released
        results = step.session.results
        index = next((i for i, r in enumerate(results) if (r.number, r.user_id) == (fb.number, fb.user_id)), None)
        view = discord.ui.View(timeout=None)
        if index is not None:
            view.add_item(ModelAnswerButton(step.session.id, index))
        await channel.send(embed=render.interview_feedback_embed(fb), view=view)
    if step.follow_up is not None:
        embed = render.interview_prompt_embed(step.follow_up, titles)
        await channel.send(embed=embed, view=answer_view(step.session.id))
    if step.prompt is not None and step.prompt is not step.follow_up and not step.waiting_for:
        await channel.send(embed=render.interview_prompt_embed(step.prompt, titles), view=answer_view(step.session.id))
    elif step.waiting_for:
        names = [p.display for p in step.session.participants if p.user_id in step.waiting_for]
        await channel.send(f"Waiting for: {', '.join(names)}")
    if step.scorecards:
        for embed in _results(step.session, step.scorecards, titles):
            await channel.send(embed=embed)


def _results(session: InterviewSession, cards: list[Scorecard], titles: Titles) -> list[discord.Embed]:
    """Each participant's scorecard, then (in a group) everyone side by side."""
    embeds = [render.scorecard_embed(c, titles) for c in cards[:9]]
    wrap_up = group_wrap_up(session)
    if wrap_up is not None:
        embeds.append(render.wrap_up_embed(wrap_up, titles))
    return embeds


class ModelAnswerButton(
    discord.ui.DynamicItem[discord.ui.Button["discord.ui.View"]], template=r"sbim:(?P<sid>[0-9a-f]{32}):(?P<k>\d+)"
):
    """Under a feedback embed: the model answer and every missed point, shown only to whoever asks."""

    def __init__(self, sid: str, k: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Show model answer", style=discord.ButtonStyle.secondary, custom_id=f"sbim:{sid}:{k}"
            )
        )
        self.sid, self.k = sid, k

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ModelAnswerButton:  # type: ignore[override]
        return cls(match["sid"], int(match["k"]))

    async def callback(self, interaction: Interaction) -> None:
        try:
            session = await interaction.client.services.interviews.load(self.sid)
            if not 0 <= self.k < len(session.results):
                await interaction.response.send_message("That answer is no longer stored.", ephemeral=True)
                return
            text = render.model_answer_text(session.results[self.k])
            await interaction.response.send_message(text, ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)


class AnswerModal(discord.ui.Modal, title="Your answer"):
    answer: discord.ui.TextInput[AnswerModal] = discord.ui.TextInput(
        label="Answer as you would in the interview", style=discord.TextStyle.paragraph, max_length=4000,
        custom_id="answer",
    )  # fmt: skip

    def __init__(self, sid: str) -> None:
        super().__init__(custom_id=f"sbiam:{sid}")
        self.sid = sid

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        await interaction.response.defer(thinking=True)
        step = await interaction.client.services.interviews.answer(
            self.sid, user_key(interaction.user), self.answer.value
        )
        # The answer as everyone in the thread sees a typed one: the group reads what was said.
        await interaction.followup.send(
            embed=render.interview_answer_embed(interaction.user.display_name, self.answer.value)
        )
        if interaction.channel is not None and isinstance(interaction.channel, discord.abc.Messageable):
            await post_step(interaction.channel, step, interaction.client.services.topics.title_of)

    async def on_error(self, interaction: Interaction, error: Exception) -> None:  # type: ignore[override]
        await report_error(interaction, error)


class AnswerButton(SessionButton, template=rf"sbia:{SID}"):
    prefix, label = "sbia", "Answer in a form"

    async def callback(self, interaction: Interaction) -> None:
        await interaction.response.send_modal(AnswerModal(self.sid))


class JoinButton(SessionButton, template=rf"sbij:{SID}"):
    prefix, label, style = "sbij", "Join", discord.ButtonStyle.success

    async def callback(self, interaction: Interaction) -> None:
        try:
            session = await interaction.client.services.interviews.join(
                self.sid, user_key(interaction.user), interaction.user.display_name
            )
            names = ", ".join(p.display for p in session.participants)
            await interaction.response.send_message(f"{interaction.user.display_name} joined. Participants: {names}")
        except Exception as exc:
            await report_error(interaction, exc)


class BeginButton(SessionButton, template=rf"sbib:{SID}"):
    prefix, label, style = "sbib", "Start", discord.ButtonStyle.primary

    async def callback(self, interaction: Interaction) -> None:
        try:
            session = await interaction.client.services.interviews.begin(self.sid, user_key(interaction.user))
            names = ", ".join(p.display for p in session.participants)
            started = f"Group mock interview: {session.total} questions, under way with {names}."
            await interaction.response.edit_message(content=started, view=None)
            prompt = session.current_prompt()
            if prompt is not None and interaction.channel is not None:
                embed = render.interview_prompt_embed(prompt, interaction.client.services.topics.title_of)
                await interaction.followup.send(embed=embed, view=answer_view(self.sid))
        except Exception as exc:
            await report_error(interaction, exc)


class SkipQuestionButton(SessionButton, template=rf"sbik:{SID}"):
    """Skip the question (or follow-up) it is your turn to answer: recorded as skipped."""

    prefix, label = "sbik", "Skip question"

    async def callback(self, interaction: Interaction) -> None:
        try:
            step = await interaction.client.services.interviews.skip(self.sid, user_key(interaction.user))
            await interaction.response.send_message(f"{interaction.user.display_name} skipped this one.")
            if interaction.channel is not None and isinstance(interaction.channel, discord.abc.Messageable):
                await post_step(interaction.channel, step, interaction.client.services.topics.title_of)
        except Exception as exc:
            await report_error(interaction, exc)


class EndInterviewButton(SessionButton, template=rf"sbie:{SID}"):
    """The host ends the interview now: scorecards for what was answered."""

    prefix, label, style = "sbie", "End interview", discord.ButtonStyle.danger

    async def callback(self, interaction: Interaction) -> None:
        try:
            interviews = interaction.client.services.interviews
            cards = await interviews.end(self.sid, user_key(interaction.user))
            session = await interviews.load(self.sid)
            # The question it was pressed under is over: its buttons go, then the results.
            await interaction.response.edit_message(view=None)
            await interaction.followup.send(
                "Interview ended.", embeds=_results(session, cards, interaction.client.services.topics.title_of)
            )
        except Exception as exc:
            await report_error(interaction, exc)


def answer_view(sid: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(AnswerButton(sid))
    view.add_item(SkipQuestionButton(sid))
    view.add_item(EndInterviewButton(sid))
    return view


async def interview_topic_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Areas and topics that have interview questions, matching what is typed so far."""
    topics = interaction.client.services.topics
    text = current.lower()
    choices = [(f"{a.title} (whole area)", a.id) for a in topics.areas]
    choices += [(t.title, t.id) for a in topics.areas for t in a.topics]
    return [
        app_commands.Choice(name=name[:100], value=value)
        for name, value in choices
        if text in value or text in name.lower()
    ][:25]


def lobby_view(sid: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(JoinButton(sid))
    view.add_item(BeginButton(sid))
    return view


class Interview(commands.GroupCog, group_name="interview"):
    """Mock interviews in a thread."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        self._round: asyncio.Task[None] | None = None  # the expiry loop's current round
        super().__init__()

    async def cog_load(self) -> None:
        self.expiry.start()

    async def cog_unload(self) -> None:
        self.expiry.cancel()
        if self._round is not None:
            # A round cancelled half-way through a database query would leave its connection to be
            # killed after the database closed: let it finish (the bot is still connected).
            await asyncio.wait([self._round], timeout=5)

    @app_commands.command(name="start")
    @app_commands.describe(
        topic="Topic (optional)", level="junior, mid or senior", questions="How many questions (3-7)",
        group="Let others join with a button", mode="Group mode: take turns, or everyone answers each question",
    )  # fmt: skip
    @app_commands.choices(level=LEVELS, mode=MODES)
    @app_commands.autocomplete(topic=interview_topic_autocomplete)
    @app_commands.guild_only()
    async def start(
        self,
        interaction: Interaction,
        topic: str | None = None,
        level: str | None = None,
        questions: app_commands.Range[int, 3, 7] = 5,
        group: bool = False,
        mode: str = "turns",
    ) -> None:
        """Start a mock interview in a new thread: answer there, get feedback and a scorecard."""
        channel = interaction.channel
        if not isinstance(channel, discord.TextChannel):
            raise app_commands.CheckFailure("interviews need a text channel")
        services = self.bot.services
        area = topic if topic in {a.id for a in services.topics.areas} else None
        try:  # a bad option is said privately, before any thread exists
            services.interviews.check_options(
                topic=None if area else topic, area=area, level=level, questions=questions, mode=mode
            )
        except StudybotError as exc:
            await report_error(interaction, exc)
            return
        await interaction.response.defer(thinking=True, ephemeral=not group)
        name = interaction.user.display_name
        subject = services.topics.title_of(topic) if topic else "mixed topics"
        title = f"Group mock interview: {subject}" if group else f"Mock interview: {name}"
        thread = await channel.create_thread(
            name=render.clip(title, 100), type=discord.ChannelType.public_thread, auto_archive_duration=60
        )
        session = await services.interviews.start(
            user_key(interaction.user), name, topic=None if area else topic, area=area, level=level,
            questions=questions, group=group, mode=mode, group_id=str(interaction.guild_id), channel_id=str(thread.id),
        )  # fmt: skip
        how = "Answer in this thread, or with the buttons under each question."
        if group:
            intro = f"Group mock interview: {session.total} questions, hosted by {name}."
        else:
            intro = f"Mock interview: {session.total} questions. {how}"
        if session.notice:
            intro += f"\n{session.notice}"
        if group:
            await thread.send(
                intro + f"\nClick **Join** to take part; {name} clicks **Start** when everyone is in. "
                f"Then: {how[0].lower()}{how[1:]}",
                view=lobby_view(session.id),
            )
            await interaction.followup.send(f"Group interview lobby opened in {thread.mention}: join there.")
            return
        await thread.send(intro)
        prompt = session.current_prompt()
        if prompt is not None:
            await thread.send(
                embed=render.interview_prompt_embed(prompt, self.bot.services.topics.title_of),
                view=answer_view(session.id),
            )
        await interaction.followup.send(f"Your interview is ready in {thread.mention}.")

    @app_commands.command(name="end")
    async def end(self, interaction: Interaction) -> None:
        """End the mock interview of this thread early and get the scorecard."""
        sessions = await self.bot.services.interviews.active_for(channel_id=str(interaction.channel_id))
        if not sessions:
            sessions = await self.bot.services.interviews.active_for(user_id=user_key(interaction.user))
        if not sessions:
            await interaction.response.send_message("You have no interview in progress.", ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        cards = await self.bot.services.interviews.end(sessions[0].id, user_key(interaction.user))
        session = await self.bot.services.interviews.load(sessions[0].id)
        await interaction.followup.send(
            "Interview ended.", embeds=_results(session, cards, self.bot.services.topics.title_of)
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """An answer typed in an interview thread."""
        if message.author.bot or not isinstance(message.channel, discord.Thread) or not message.content.strip():
            return
        me = self.bot.user
        if me is None or message.channel.owner_id != me.id:  # interview threads are the bot's own
            return
        if not self.bot.track_handler():  # an answer to a session underway is taken while shutting down
            return
        sessions = await self.bot.services.interviews.active_for(
            user_id=user_key(message.author), channel_id=str(message.channel.id)
        )
        if not sessions:
            return
        session = sessions[0]
        try:
            step = await self.bot.services.interviews.answer(session.id, user_key(message.author), message.content)
        except StudybotError as exc:
            await message.reply(str(exc), mention_author=False)
            return
        await post_step(message.channel, step, self.bot.services.topics.title_of)

    @tasks.loop(seconds=10)
    async def expiry(self) -> None:
        """Close answer windows that ran out of time, in every active interview."""
        self._round = asyncio.create_task(self._expire_all(), name="interview-expiry")
        await asyncio.shield(self._round)  # see cog_unload

    async def _expire_all(self) -> None:
        interviews = self.bot.services.interviews
        for session in await interviews.active_for():
            if interviews.is_due(session):  # else nothing to close: skip the locked re-load
                await self._expire(session)

    async def _expire(self, session: InterviewSession) -> None:
        try:
            step = await self.bot.services.interviews.expire(session.id)
            if step is None or session.channel_id is None:
                return
            channel = self.bot.get_channel(int(session.channel_id)) or await self.bot.fetch_channel(
                int(session.channel_id)
            )
            if isinstance(channel, discord.abc.Messageable):
                await post_step(channel, step, self.bot.services.topics.title_of)
        except Exception:
            log.exception("could not expire interview %s", session.id)

    @expiry.before_loop
    async def _wait_ready(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: StudyBot) -> None:
    bot.add_dynamic_items(
        AnswerButton, JoinButton, BeginButton, SkipQuestionButton, EndInterviewButton, ModelAnswerButton
    )
    await bot.add_cog(Interview(bot))
