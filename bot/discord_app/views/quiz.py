"""Quiz controls: answer buttons, a select and a modal; Next, Skip and Stop; the end-of-quiz choices.

Solo quizzes and reviews are private: every message is ephemeral, so only the learner sees their
questions and mistakes. Once answered, a question keeps its buttons, disabled: the right option
green, a wrong pick red, so the learner still sees what they chose. Nothing moves on until they press
Next. Stop leaves the quiz where it is; ``/quiz start`` without options picks it up again.

Channel quizzes (everyone may answer) stay public: results go privately to whoever answered, and the
host closes each question with Next.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app import render
from bot.discord_app.client import report_error
from bot.discord_app.views.common import NEVER, SID, Interaction, SessionButton, user_key
from bot.study.banks import QuizItem, QuizType
from bot.study.quiz import LETTERS, MAX_COUNT, QuizSession, ReviewOffer, display_answer

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot

Row = discord.ui.Button["discord.ui.View"]
MultiSelect = discord.ui.Select["discord.ui.View"]
NOT_YOURS = "This quiz belongs to someone else: start your own."


def _button(label: str, style: discord.ButtonStyle, custom_id: str) -> Row:
    return discord.ui.Button(label=label, style=style, custom_id=custom_id)


def quiz_message(bot: StudyBot, session: QuizSession, note: str = "") -> tuple[discord.Embed, discord.ui.View]:
    """The embed and controls of a quiz's current question (``note``: a line above it, e.g. resuming)."""
    quizzes, titles = bot.services.quizzes, bot.services.topics.title_of
    item = quizzes.shown(session)
    review = session.mode == "review"
    meta = f"{titles(item.topic)} · {item.difficulty.value}"
    meta += " · everyone can answer" if session.channel else (" · review" if review else " · quiz")
    embed = render.quiz_question_embed(
        session.index + 1, session.total, item.question, list(item.choices), meta, "Review" if review else "Question"
    )
    reason = quizzes.reason(session)
    above = [line for line in (note, render.review_reason_text(reason, titles) if reason else "") if line]
    if above:  # why a review question is here: a timestamp renders in the description, not in the footer
        embed.description = "\n".join(f"*{line}*" for line in above) + f"\n\n{embed.description or ''}"
    view = discord.ui.View(timeout=None)
    sid, idx = session.id, session.index
    if item.type is QuizType.mcq:
        for i in range(len(item.choices)):
            view.add_item(QuizChoiceButton(sid, idx, LETTERS[i]))
    elif item.type is QuizType.true_false:
        view.add_item(QuizChoiceButton(sid, idx, "true"))
        view.add_item(QuizChoiceButton(sid, idx, "false"))
    elif item.type is QuizType.multi:
        view.add_item(QuizMultiSelect(sid, idx, list(item.choices)))
    else:
        view.add_item(QuizShortButton(sid, idx))
    if session.channel:
        view.add_item(QuizNextButton(sid, idx))
    else:
        for control in (QuizSkipButton(sid, idx), QuizStopButton(sid, idx)):
            control.row = 1  # a row of their own, under the choices
            view.add_item(control)
    return embed, view


def answered_view(item: QuizItem, picked: str | None, *, then: discord.ui.Item[Any] | None = None) -> discord.ui.View:
    """A closed question's options, disabled: the right one(s) green, a wrong pick red, the rest grey.

    ``picked`` is what the learner sent ("B", "A,C", "true"), None when nobody's pick is shown.
    ``then``: the control that moves on (Next, or the results), kept enabled on its own row.
    """
    view = discord.ui.View(timeout=None)
    chosen = set((picked or "").split(","))
    if item.type in (QuizType.mcq, QuizType.multi):
        right = {item.answer} if isinstance(item.answer, int) else set(item.answer)  # type: ignore[arg-type]
        values = [(LETTERS[i], i in right) for i in range(len(item.choices))]
    elif item.type is QuizType.true_false:
        values = [("true", item.answer is True), ("false", item.answer is False)]
    else:
        values = []
    for value, is_right in values:
        style = (
            discord.ButtonStyle.success if is_right
            else discord.ButtonStyle.danger if value in chosen
            else discord.ButtonStyle.secondary
        )  # fmt: skip
        label = {"true": "True", "false": "False"}.get(value, value)
        view.add_item(discord.ui.Button(label=label, style=style, disabled=True, custom_id=f"sbqd:{value}"))
    if then is not None:
        then.row = 1
        view.add_item(then)
    return view


async def _quiz_answer(interaction: Interaction, sid: str, idx: int, response: str) -> None:
    """Grade one answer from a button, select or modal, then show the result in place."""
    bot = interaction.client
    quizzes = bot.services.quizzes
    session = await quizzes.load(sid)
    if session.finished or session.index != idx:
        await interaction.response.send_message("That question is already closed.", ephemeral=True)
        return
    if not session.channel and user_key(interaction.user) != session.owner_id:
        await interaction.response.send_message("This quiz belongs to someone else: start your own.", ephemeral=True)
        return
    # Acknowledge at once (grading a short answer embeds it), then edit or follow up.
    if session.channel:
        await interaction.response.defer(ephemeral=True, thinking=True)
    else:
        await interaction.response.defer()  # a deferred update of the question message
    result = await quizzes.answer(sid, user_key(interaction.user), response, interaction.user.display_name)
    if session.channel:
        await interaction.followup.send(embed=render.quiz_result_embed(result), ephemeral=True)
        return
    item = quizzes.shown(session, idx)
    question = interaction.message.embeds[0] if interaction.message and interaction.message.embeds else None
    embeds = [e for e in (question, render.quiz_result_embed(result)) if e is not None]
    last = idx + 1 >= session.total
    view = answered_view(item, response, then=QuizNextButton(sid, idx, results=last))
    await interaction.edit_original_response(embeds=embeds, view=view)


async def _show_next(interaction: Interaction, session: QuizSession, names: dict[str, str] | None = None) -> None:
    """After a question closes: the next question, or the results with what to do next."""
    bot = interaction.client
    private = not session.channel
    if session.finished:
        summary = bot.services.quizzes.summary(session)
        title = "Review finished" if session.mode == "review" else "Quiz finished"
        embed = render.quiz_summary_embed(summary, names, bot.services.topics.title_of, title)
        view = discord.ui.View(timeout=None)
        if private:
            if summary.to_review or summary.answered < summary.total:
                view.add_item(QuizRetryButton(session.id))
            view.add_item(QuizAgainButton(session.id))
        await interaction.followup.send(embed=embed, view=view, ephemeral=private)
    else:
        embed, view = quiz_message(bot, session)
        await interaction.followup.send(embed=embed, view=view, ephemeral=private)


class _SessionItem(discord.ui.DynamicItem[Row], template=NEVER):
    """A button whose custom id is ``<prefix>:<session>:<question index>``."""

    prefix = ""

    def __init__(self, sid: str, idx: int, button: Row) -> None:
        super().__init__(button)
        self.sid, self.idx = sid, idx

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> _SessionItem:  # type: ignore[override]
        return cls(match["sid"], int(match["idx"]))

    async def _owner_only(self, interaction: Interaction, session: QuizSession) -> bool:
        if user_key(interaction.user) != session.owner_id:
            await interaction.response.send_message(NOT_YOURS, ephemeral=True)
            return False
        return True


class QuizChoiceButton(
    discord.ui.DynamicItem[Row],
    template=rf"sbq:{SID}:(?P<idx>\d+):(?P<val>[A-F]|true|false)",
):
    def __init__(self, sid: str, idx: int, value: str) -> None:
        label = {"true": "True", "false": "False"}.get(value, value)
        super().__init__(
            discord.ui.Button(label=label, style=discord.ButtonStyle.primary, custom_id=f"sbq:{sid}:{idx}:{value}")
        )
        self.sid, self.idx, self.value = sid, idx, value

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> QuizChoiceButton:  # type: ignore[override]
        return cls(match["sid"], int(match["idx"]), match["val"])

    async def callback(self, interaction: Interaction) -> None:
        try:
            await _quiz_answer(interaction, self.sid, self.idx, self.value)
        except Exception as exc:
            await report_error(interaction, exc)


class QuizMultiSelect(discord.ui.DynamicItem[MultiSelect], template=rf"sbqm:{SID}:(?P<idx>\d+)"):
    def __init__(self, sid: str, idx: int, choices: list[str]) -> None:
        options = [discord.SelectOption(label=LETTERS[i], description=render.clip(c, 100), value=LETTERS[i])
                   for i, c in enumerate(choices)]  # fmt: skip
        super().__init__(
            discord.ui.Select(
                placeholder="Pick every right answer",
                min_values=1,
                max_values=len(options),
                options=options,
                custom_id=f"sbqm:{sid}:{idx}",
            )
        )
        self.sid, self.idx = sid, idx

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> QuizMultiSelect:  # type: ignore[override]
        options = getattr(item, "options", [])
        return cls(match["sid"], int(match["idx"]), [o.description or o.label for o in options])

    async def callback(self, interaction: Interaction) -> None:
        try:
            await _quiz_answer(interaction, self.sid, self.idx, ",".join(sorted(self.item.values)))
        except Exception as exc:
            await report_error(interaction, exc)


class ShortAnswerModal(discord.ui.Modal, title="Your answer"):
    answer: discord.ui.TextInput[ShortAnswerModal] = discord.ui.TextInput(
        label="Answer in a sentence or two", style=discord.TextStyle.paragraph, max_length=1500, custom_id="answer"
    )

    def __init__(self, sid: str, idx: int) -> None:
        super().__init__(custom_id=f"sbqa:{sid}:{idx}")
        self.sid, self.idx = sid, idx

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        await _quiz_answer(interaction, self.sid, self.idx, self.answer.value)

    async def on_error(self, interaction: Interaction, error: Exception) -> None:  # type: ignore[override]
        await report_error(interaction, error)


class QuizShortButton(_SessionItem, template=rf"sbqs:{SID}:(?P<idx>\d+)"):
    def __init__(self, sid: str, idx: int) -> None:
        button = _button("Write your answer", discord.ButtonStyle.primary, f"sbqs:{sid}:{idx}")
        super().__init__(sid, idx, button)

    async def callback(self, interaction: Interaction) -> None:
        await interaction.response.send_modal(ShortAnswerModal(self.sid, self.idx))


class QuizNextButton(_SessionItem, template=rf"sbqn:{SID}:(?P<idx>\d+)(?P<end>:r)?"):
    """Next ▶ under a closed question (solo), or the host closing the question (channel mode)."""

    def __init__(self, sid: str, idx: int, *, results: bool = False) -> None:
        label = "See results" if results else "Next ▶"
        style = discord.ButtonStyle.primary if results else discord.ButtonStyle.secondary
        custom_id = f"sbqn:{sid}:{idx}" + (":r" if results else "")
        super().__init__(sid, idx, _button(label, style, custom_id))
        self.results = results

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> QuizNextButton:  # type: ignore[override]
        return cls(match["sid"], int(match["idx"]), results=bool(match["end"]))

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        session = await interaction.client.services.quizzes.load(self.sid)
        if user_key(interaction.user) == session.owner_id:
            return True
        if session.channel:
            await interaction.response.send_message("Only the quiz host moves to the next question.", ephemeral=True)
            return False
        return await self._owner_only(interaction, session)

    async def callback(self, interaction: Interaction) -> None:
        try:
            quizzes = interaction.client.services.quizzes
            session = await quizzes.load(self.sid)
            if session.channel:
                await self._close_for_everyone(interaction, session)
                return
            item = quizzes.shown(session, self.idx)
            mine = session.results[self.idx].get(session.owner_id)
            if session.index != self.idx + 1 and not session.finished:
                await interaction.response.send_message("You have already moved on.", ephemeral=True)
                return
            await interaction.response.edit_message(view=answered_view(item, mine["response"] if mine else None))
            await _show_next(interaction, session)
        except Exception as exc:
            await report_error(interaction, exc)

    async def _close_for_everyone(self, interaction: Interaction, session: QuizSession) -> None:
        quizzes = interaction.client.services.quizzes
        if session.finished or session.index != self.idx:
            await interaction.response.send_message("That question is already closed.", ephemeral=True)
            return
        results = session.results[self.idx]
        item = quizzes.shown(session, self.idx)
        # Mentions render names without pinging anyone: the bot sends with AllowedMentions.none().
        right = [f"<@{u.split(':', 1)[1]}>" for u, r in results.items() if r["correct"]]
        lines = [
            f"**Answer:** {display_answer(item)}",
            f"Right: {', '.join(right) if right else 'nobody'} ({len(results)} answered)",
            item.explanation,
        ]
        question = interaction.message.embeds[0] if interaction.message and interaction.message.embeds else None
        closed = discord.Embed(description=render.clip("\n".join(lines), render.DESCRIPTION_LIMIT))
        embeds = [e for e in (question, closed) if e]
        await interaction.response.edit_message(embeds=embeds, view=answered_view(item, None))
        session = await quizzes.advance(self.sid)
        await _show_next(interaction, session, await _names(interaction, session))


class QuizSkipButton(_SessionItem, template=rf"sbqk:{SID}:(?P<idx>\d+)"):
    """Skip: leave this question unanswered (it comes back in 'Review what I missed') and go on."""

    def __init__(self, sid: str, idx: int) -> None:
        button = _button("Skip", discord.ButtonStyle.secondary, f"sbqk:{sid}:{idx}")
        super().__init__(sid, idx, button)

    async def callback(self, interaction: Interaction) -> None:
        try:
            quizzes = interaction.client.services.quizzes
            session = await quizzes.load(self.sid)
            if not await self._owner_only(interaction, session):
                return
            if session.finished or session.index != self.idx:
                await interaction.response.send_message("That question is already closed.", ephemeral=True)
                return
            session = await quizzes.skip(self.sid, self.idx)
            item = quizzes.shown(session, self.idx)
            question = interaction.message.embeds[0] if interaction.message and interaction.message.embeds else None
            skipped = discord.Embed(
                description=render.clip(f"**Skipped.** The answer: {display_answer(item)}", render.DESCRIPTION_LIMIT),
                colour=render.MEH,
            )
            await interaction.response.edit_message(
                embeds=[e for e in (question, skipped) if e], view=answered_view(item, None)
            )
            await _show_next(interaction, session)
        except Exception as exc:
            await report_error(interaction, exc)


class QuizStopButton(_SessionItem, template=rf"sbqx:{SID}:(?P<idx>\d+)"):
    """Stop for now: the quiz stays as it is, and ``/quiz start`` without options resumes it."""

    def __init__(self, sid: str, idx: int) -> None:
        button = _button("Stop", discord.ButtonStyle.danger, f"sbqx:{sid}:{idx}")
        super().__init__(sid, idx, button)

    async def callback(self, interaction: Interaction) -> None:
        try:
            session = await interaction.client.services.quizzes.load(self.sid)
            if not await self._owner_only(interaction, session):
                return
            kind = "review" if session.mode == "review" else "quiz"
            paused = discord.Embed(
                description=f"Paused at question {session.index + 1} of {session.total}. Run `/quiz start` "
                f"without options to carry on with this {kind}; with options it starts a new one.",
                colour=render.COLOUR,
            )
            question = interaction.message.embeds[0] if interaction.message and interaction.message.embeds else None
            await interaction.response.edit_message(embeds=[e for e in (question, paused) if e], view=None)
        except Exception as exc:
            await report_error(interaction, exc)


class _FinishedItem(SessionButton, template=NEVER):
    """A button under a finished quiz's results: ``<prefix>:<session>``."""

    async def _open(self, interaction: Interaction, retry: bool) -> None:
        quizzes = interaction.client.services.quizzes
        try:
            old = await quizzes.load(self.sid)
            if user_key(interaction.user) != old.owner_id:
                await interaction.response.send_message("Start your own with `/quiz start`.", ephemeral=True)
                return
            await interaction.response.defer(ephemeral=True, thinking=True)
            name = interaction.user.display_name
            session = await (quizzes.missed_again(self.sid, name) if retry else quizzes.another_like(self.sid, name))
            embed, view = quiz_message(interaction.client, session)
            await interaction.followup.send(embed=embed, view=view, ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)


class QuizRetryButton(_FinishedItem, template=rf"sbqr:{SID}"):
    prefix, label, style = "sbqr", "Review what I missed", discord.ButtonStyle.primary

    async def callback(self, interaction: Interaction) -> None:
        await self._open(interaction, retry=True)


class QuizAgainButton(_FinishedItem, template=rf"sbqw:{SID}"):
    prefix, label = "sbqw", "New quiz"

    async def callback(self, interaction: Interaction) -> None:
        await self._open(interaction, retry=False)


class ReviewTopicButton(discord.ui.DynamicItem[Row], template=r"sbqp:(?P<topic>[a-z0-9_-]{1,64}):(?P<count>\d{1,2})"):
    """Offered when nothing is due: a review of one of the learner's weakest topics."""

    def __init__(self, topic: str, count: int, title: str = "") -> None:
        label = render.clip(f"Practise {title}" if title else "Practise this topic", 80)
        super().__init__(_button(label, discord.ButtonStyle.primary, f"sbqp:{topic}:{count}"))
        self.topic, self.count = topic, count

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReviewTopicButton:  # type: ignore[override]
        return cls(match["topic"], int(match["count"]))

    async def callback(self, interaction: Interaction) -> None:
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            session = await interaction.client.services.quizzes.review(
                user_key(interaction.user), interaction.user.display_name, count=max(1, min(self.count, MAX_COUNT)),
                topic=self.topic, group_id=_group_of(interaction), channel_id=str(interaction.channel_id),
            )  # fmt: skip
            embed, view = quiz_message(interaction.client, session)
            await interaction.followup.send(embed=embed, view=view, ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)


class FirstQuizButton(discord.ui.DynamicItem[Row], template=r"sbqf:(?P<count>\d{1,2})"):
    """Offered to a learner with nothing to review yet: a first quiz, across the topics."""

    def __init__(self, count: int) -> None:
        super().__init__(_button("Start a first quiz", discord.ButtonStyle.primary, f"sbqf:{count}"))
        self.count = count

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> FirstQuizButton:  # type: ignore[override]
        return cls(int(match["count"]))

    async def callback(self, interaction: Interaction) -> None:
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            session = await interaction.client.services.quizzes.start(
                user_key(interaction.user), interaction.user.display_name, count=max(1, min(self.count, MAX_COUNT)),
                group_id=_group_of(interaction), channel_id=str(interaction.channel_id),
            )  # fmt: skip
            embed, view = quiz_message(interaction.client, session)
            await interaction.followup.send(embed=embed, view=view, ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)


def review_offer(bot: StudyBot, offer: ReviewOffer, count: int) -> tuple[discord.Embed, discord.ui.View]:
    """What /quiz review shows when nothing is due: why, and a button per weak topic (or a first quiz)."""
    titles = bot.services.topics.title_of
    view = discord.ui.View(timeout=None)
    if not offer.answered:
        view.add_item(FirstQuizButton(min(count, 5)))
    for topic, _ in offer.weakest:
        view.add_item(ReviewTopicButton(topic, count, titles(topic)))
    return render.nothing_due_embed(offer, titles), view


def _group_of(interaction: Interaction) -> str | None:
    return str(interaction.guild_id) if interaction.guild_id else None


async def _names(interaction: Interaction, session: QuizSession) -> dict[str, str]:
    """Display names of everyone who answered (members of the server, or their ids)."""
    names: dict[str, str] = {}
    for per_user in session.results:
        for user in per_user:
            if user in names:
                continue
            member = interaction.guild.get_member(int(user.split(":", 1)[1])) if interaction.guild else None
            names[user] = member.display_name if member else user.split(":", 1)[1]
    return names


QUIZ_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    QuizChoiceButton,
    QuizMultiSelect,
    QuizShortButton,
    QuizNextButton,
    QuizSkipButton,
    QuizStopButton,
    QuizRetryButton,
    QuizAgainButton,
    ReviewTopicButton,
    FirstQuizButton,
)
