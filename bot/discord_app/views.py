"""Buttons, selects and modals.

Quiz and interview controls are ``DynamicItem``s: their custom ids carry the session id, so they
keep working after a restart (the session itself is in the database). Short-lived confirmations are
ordinary views that disable themselves on timeout. Every item checks who may use it.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app import render
from bot.discord_app.client import report_error
from bot.study.answering import Answer
from bot.study.banks import QuizType
from bot.study.quiz import LETTERS, QuizSession, display_answer

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot

log = logging.getLogger(__name__)
Interaction = discord.Interaction["StudyBot"]


def user_key(user: discord.abc.User) -> str:
    return f"discord:{user.id}"


# --- quiz -------------------------------------------------------------------------------------------


def quiz_message(bot: StudyBot, session: QuizSession) -> tuple[discord.Embed, discord.ui.View]:
    """The embed and controls of a quiz's current question."""
    item = bot.services.quizzes.shown(session)
    meta = f"{item.topic} · {item.difficulty.value}" + (" · everyone can answer" if session.channel else "")
    embed = render.quiz_question_embed(session.index + 1, session.total, item.question, list(item.choices), meta)
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
    return embed, view


async def _quiz_answer(interaction: Interaction, sid: str, idx: int, response: str) -> None:
    """Grade one answer from a button, select or modal, then show the result and what comes next."""
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
    question = interaction.message.embeds[0] if interaction.message and interaction.message.embeds else None
    embeds = [e for e in (question, render.quiz_result_embed(result)) if e is not None]
    await interaction.edit_original_response(embeds=embeds, view=None)
    await _next_or_summary(interaction, await quizzes.load(sid))


async def _next_or_summary(interaction: Interaction, session: QuizSession, names: dict[str, str] | None = None) -> None:
    bot = interaction.client
    if session.finished:
        summary = bot.services.quizzes.summary(session)
        await interaction.followup.send(embed=render.quiz_summary_embed(summary, names))
    else:
        embed, view = quiz_message(bot, session)
        await interaction.followup.send(embed=embed, view=view)


async def _send(interaction: Interaction, **kwargs: Any) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)


class QuizChoiceButton(
    discord.ui.DynamicItem[discord.ui.Button["discord.ui.View"]],
    template=r"sbq:(?P<sid>[0-9a-f]{32}):(?P<idx>\d+):(?P<val>[A-F]|true|false)",
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


class QuizMultiSelect(
    discord.ui.DynamicItem[discord.ui.Select["discord.ui.View"]], template=r"sbqm:(?P<sid>[0-9a-f]{32}):(?P<idx>\d+)"
):
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
            await _quiz_answer(interaction, self.sid, self.idx, ",".join(self.item.values))
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


class QuizShortButton(
    discord.ui.DynamicItem[discord.ui.Button["discord.ui.View"]], template=r"sbqs:(?P<sid>[0-9a-f]{32}):(?P<idx>\d+)"
):
    def __init__(self, sid: str, idx: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Write your answer", style=discord.ButtonStyle.primary, custom_id=f"sbqs:{sid}:{idx}"
            )
        )
        self.sid, self.idx = sid, idx

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> QuizShortButton:  # type: ignore[override]
        return cls(match["sid"], int(match["idx"]))

    async def callback(self, interaction: Interaction) -> None:
        await interaction.response.send_modal(ShortAnswerModal(self.sid, self.idx))


class QuizNextButton(
    discord.ui.DynamicItem[discord.ui.Button["discord.ui.View"]], template=r"sbqn:(?P<sid>[0-9a-f]{32}):(?P<idx>\d+)"
):
    """Channel mode: the quiz host closes the question, shows who got it right, and moves on."""

    def __init__(self, sid: str, idx: int) -> None:
        super().__init__(
            discord.ui.Button(label="Next ▶", style=discord.ButtonStyle.secondary, custom_id=f"sbqn:{sid}:{idx}")
        )
        self.sid, self.idx = sid, idx

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> QuizNextButton:  # type: ignore[override]
        return cls(match["sid"], int(match["idx"]))

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        session = await interaction.client.services.quizzes.load(self.sid)
        if user_key(interaction.user) != session.owner_id:
            await interaction.response.send_message("Only the quiz host moves to the next question.", ephemeral=True)
            return False
        return True

    async def callback(self, interaction: Interaction) -> None:
        try:
            quizzes = interaction.client.services.quizzes
            session = await quizzes.load(self.sid)
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
            await interaction.response.edit_message(embeds=[e for e in (question, closed) if e], view=None)
            session = await quizzes.advance(self.sid)
            await _next_or_summary(interaction, session, await _names(interaction, session))
        except Exception as exc:
            await report_error(interaction, exc)


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


# --- answers ------------------------------------------------------------------------------------------


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button["discord.ui.View"]], template=r"sbfb:(?P<helpful>[01])"):
    """'Helpful' / 'Not helpful' under an answer, recorded for later evaluation."""

    def __init__(self, helpful: bool) -> None:
        super().__init__(
            discord.ui.Button(
                label="Helpful" if helpful else "Not helpful",
                emoji="👍" if helpful else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"sbfb:{int(helpful)}",
            )
        )
        self.helpful = helpful

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> FeedbackButton:  # type: ignore[override]
        return cls(match["helpful"] == "1")

    async def callback(self, interaction: Interaction) -> None:
        message = interaction.message
        question = render.question_title(message) if message else None
        answer = "\n".join(e.description or "" for e in message.embeds) if message else ""
        try:
            await interaction.client.services.db.record_feedback(
                user_key(interaction.user), question or "", answer, self.helpful
            )
        except Exception as exc:  # the database is down: say so instead of "interaction failed"
            await report_error(interaction, exc)
            return
        await interaction.response.send_message("Thanks, noted!", ephemeral=True)


class RelatedQuestionButton(
    discord.ui.DynamicItem[discord.ui.Button["discord.ui.View"]], template=r"sbrq:(?P<card>[a-z0-9-]{1,90})"
):
    """A related question under an answer ("You might also ask"): clicking it asks it."""

    def __init__(self, card_id: str, question: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=render.clip(question or "Ask this", 80),
                style=discord.ButtonStyle.secondary,
                custom_id=f"sbrq:{card_id}",
                row=1,
            )
        )
        self.card_id = card_id

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RelatedQuestionButton:  # type: ignore[override]
        return cls(match["card"])

    async def callback(self, interaction: Interaction) -> None:
        services = interaction.client.services
        card = services.cards.by_id.get(self.card_id)
        if card is None:
            await interaction.response.send_message("That question is no longer in the study notes.", ephemeral=True)
            return
        private = bool(interaction.message and interaction.message.flags.ephemeral)
        await interaction.response.defer(thinking=True, ephemeral=private)
        try:
            answer = await services.answers_for(interaction.guild_id).ask(card.question)
        except Exception as exc:
            await report_error(interaction, exc)
            return
        view = answer_view(answer)
        await interaction.followup.send(
            embeds=render.answer_embeds(answer)[:10], ephemeral=private, **({"view": view} if view else {})
        )


def answer_view(answer: Answer) -> discord.ui.View | None:
    """Under an answer: its related questions, and helpful / not helpful (not under "I don't know")."""
    view = discord.ui.View(timeout=None)
    if answer.grounded:
        view.add_item(FeedbackButton(True))
        view.add_item(FeedbackButton(False))
    for related in answer.related[:3]:
        view.add_item(RelatedQuestionButton(related.card_id, related.question))
    return view if view.children else None


# --- confirmations -----------------------------------------------------------------------------------


class ConfirmView(discord.ui.View):
    """Yes / cancel for one user; the buttons disable themselves after a minute."""

    def __init__(self, user_id: int, *, confirm_label: str, timeout: float = 60) -> None:
        super().__init__(timeout=timeout)
        self.user_id = user_id
        self.confirmed: bool | None = None
        self.message: discord.Message | discord.InteractionMessage | None = None
        self.confirm.label = confirm_label

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        if interaction.user.id != self.user_id:
            await interaction.response.send_message("This is not your confirmation.", ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        self.confirmed = True
        await interaction.response.defer()
        self.stop()

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        self.confirmed = False
        await interaction.response.defer()
        self.stop()

    async def on_timeout(self) -> None:
        for child in self.children:
            if isinstance(child, discord.ui.Button):
                child.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                log.debug("could not disable an expired confirmation", exc_info=True)

    async def on_error(self, interaction: Interaction, error: Exception, item: discord.ui.Item[Any]) -> None:  # type: ignore[override]
        await report_error(interaction, error)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    QuizChoiceButton,
    QuizMultiSelect,
    QuizShortButton,
    QuizNextButton,
    FeedbackButton,
    RelatedQuestionButton,
)
