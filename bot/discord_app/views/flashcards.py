"""Flashcard controls: Show answer, then Again / Hard / Good / Easy, and Stop.

A flashcard session is one private (ephemeral) message that changes in place, as in Anki: the
question with "Show answer"; then the answer with the four ratings, each labelled with when the card
would come back; then the next card. Stop pauses it; ``/cards`` without options carries on. Custom
ids carry the session and the card's position, so a stale button never rates another card, and the
buttons keep working after a restart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from fsrs import Rating

from bot.discord_app import render
from bot.discord_app.client import report_error
from bot.discord_app.views.common import NEVER, SID, Interaction, user_key
from bot.study.flashcards import RATINGS, Flashcard, FlashcardSession, FlashcardSummary, due_phrase, rating_name

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot

Button = discord.ui.Button["discord.ui.View"]
NOT_YOURS = "These flashcards belong to someone else: start your own with `/cards`."
# Anki's colours: Again red, Hard grey, Good green, Easy blurple.
RATING_STYLES = {
    Rating.Again: discord.ButtonStyle.danger,
    Rating.Hard: discord.ButtonStyle.secondary,
    Rating.Good: discord.ButtonStyle.success,
    Rating.Easy: discord.ButtonStyle.primary,
}


def card_embed(card: Flashcard, number: int, total: int, *, revealed: bool, note: str = "") -> discord.Embed:
    """One card: the question, and once revealed the answer and where to read more."""
    why = "due for review" if card.reason == "due" else "new card"
    lines = [f"*{note}*", ""] if note else []
    lines.append(f"**{card.question}**")
    if revealed:
        lines += ["", card.answer, "", "How well did you know it?"]
    else:
        lines += ["", "Answer it in your head, then press **Show answer**."]
    embed = discord.Embed(
        title=render.clip(f"Flashcard {number} of {total}", render.TITLE_LIMIT),
        description=render.clip("\n".join(lines), render.DESCRIPTION_LIMIT),
        colour=render.COLOUR,
    )
    if revealed:
        embed.add_field(name="Read more", value=render.clip(card.source, render.FIELD_LIMIT), inline=False)
    embed.set_footer(text=f"{card.topic} · {why}")
    return embed


def summary_embed(summary: FlashcardSummary) -> discord.Embed:
    counts = " · ".join(f"{name} {n}" for name, n in summary.counts.items())
    lines = [f"You went through {summary.rated} of {summary.total} cards: {counts}."]
    if summary.next_due is not None:
        lines.append(f"Your next card is due {due_phrase(summary.next_due)}; the ones you found hard come back first.")
    lines.append("Run `/cards` again any time for what is due, then new cards.")
    return discord.Embed(title="Flashcards done", description="\n".join(lines), colour=render.GOOD)


def question_view(sid: str, idx: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ShowAnswerButton(sid, idx))
    view.add_item(CardsStopButton(sid, idx))
    return view


async def answer_view(bot: StudyBot, session: FlashcardSession) -> discord.ui.View:
    """The four ratings, each with when the card would come back ("Good · 3d"), and Stop."""
    card_id = session.card_ids[session.index]
    intervals = await bot.services.flashcards.intervals(session.owner_id, card_id)
    view = discord.ui.View(timeout=None)
    for rating in RATINGS.values():
        view.add_item(RateButton(session.id, session.index, rating, intervals[rating]))
    view.add_item(CardsStopButton(session.id, session.index, row=1))
    return view


def cards_message(bot: StudyBot, session: FlashcardSession, note: str = "") -> tuple[discord.Embed, discord.ui.View]:
    """The current card's question and its controls."""
    card = bot.services.flashcards.card(session)
    embed = card_embed(card, session.index + 1, session.total, revealed=False, note=note)
    return embed, question_view(session.id, session.index)


class _CardItem(discord.ui.DynamicItem[Button], template=NEVER):
    """A button whose custom id starts ``<prefix>:<session>:<card index>``."""

    def __init__(self, sid: str, idx: int, button: Button) -> None:
        super().__init__(button)
        self.sid, self.idx = sid, idx

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> _CardItem:  # type: ignore[override]
        return cls(match["sid"], int(match["idx"]))

    async def callback(self, interaction: Interaction) -> None:
        """Act on the session when this user owns it and this card is still the current one; else say why."""
        try:
            session = await interaction.client.services.flashcards.load(self.sid)
            if user_key(interaction.user) != session.owner_id:
                await interaction.response.send_message(NOT_YOURS, ephemeral=True)
            elif session.current_id is None or session.index != self.idx:
                await interaction.response.send_message("You have already moved past that card.", ephemeral=True)
            else:
                await self.act(interaction, session)
        except Exception as exc:
            await report_error(interaction, exc)

    async def act(self, interaction: Interaction, session: FlashcardSession) -> None:
        raise NotImplementedError


class ShowAnswerButton(_CardItem, template=rf"sbfs:{SID}:(?P<idx>\d+)"):
    def __init__(self, sid: str, idx: int) -> None:
        button: Button = discord.ui.Button(
            label="Show answer", style=discord.ButtonStyle.primary, custom_id=f"sbfs:{sid}:{idx}"
        )
        super().__init__(sid, idx, button)

    async def act(self, interaction: Interaction, session: FlashcardSession) -> None:
        flashcards = interaction.client.services.flashcards
        session = await flashcards.reveal(self.sid, session.owner_id, self.idx)
        embed = card_embed(flashcards.card(session), session.index + 1, session.total, revealed=True)
        await interaction.response.edit_message(embed=embed, view=await answer_view(interaction.client, session))


class RateButton(_CardItem, template=rf"sbfr:{SID}:(?P<idx>\d+):(?P<rating>[1-4])"):
    def __init__(self, sid: str, idx: int, rating: Rating, interval: str = "") -> None:
        label = f"{rating_name(rating)} · {interval}" if interval else rating_name(rating)
        button: Button = discord.ui.Button(
            label=label, style=RATING_STYLES[rating], custom_id=f"sbfr:{sid}:{idx}:{int(rating)}"
        )
        super().__init__(sid, idx, button)
        self.rating = rating

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RateButton:  # type: ignore[override]
        return cls(match["sid"], int(match["idx"]), Rating(int(match["rating"])))

    async def act(self, interaction: Interaction, session: FlashcardSession) -> None:
        flashcards = interaction.client.services.flashcards
        rated = await flashcards.rate(self.sid, session.owner_id, self.rating, index=self.idx)
        note = f"{rating_name(rated.rating)}: that card comes back in {rated.interval}."
        if rated.session.finished:
            embed = summary_embed(await flashcards.summary(rated.session))
            embed.description = f"*{note}*\n\n{embed.description}"
            await interaction.response.edit_message(embed=embed, view=None)
            return
        embed, view = cards_message(interaction.client, rated.session, note)
        await interaction.response.edit_message(embed=embed, view=view)


class CardsStopButton(_CardItem, template=rf"sbfx:{SID}:(?P<idx>\d+)"):
    """Stop for now: ``/cards`` without options carries on from this card."""

    def __init__(self, sid: str, idx: int, row: int | None = None) -> None:
        button: Button = discord.ui.Button(
            label="Stop", style=discord.ButtonStyle.secondary, custom_id=f"sbfx:{sid}:{idx}", row=row
        )
        super().__init__(sid, idx, button)

    async def act(self, interaction: Interaction, session: FlashcardSession) -> None:
        # Nothing to write: every rating is saved as it is given, and an open session is a paused one.
        rated = sum(r is not None for r in session.ratings)
        embed = discord.Embed(
            title="Flashcards paused",
            description=f"Paused at card {session.index + 1} of {session.total} ({rated} rated). "
            "Run `/cards` without options to carry on; with options it starts afresh.",
            colour=render.COLOUR,
        )
        await interaction.response.edit_message(embed=embed, view=None)


async def start_cards(
    interaction: Interaction, topic: str | None, area: str | None, count: int | None
) -> tuple[discord.Embed, discord.ui.View]:
    """A paused session carried on (no options given), or a new one; the paused one ends then."""
    bot = interaction.client
    flashcards = bot.services.flashcards
    user = user_key(interaction.user)
    paused = await flashcards.resumable(user)
    if paused is not None and (topic, area, count) == (None, None, None):
        paused = await flashcards.resume(paused)
        note = f"Carrying on with your flashcards: card {paused.index + 1} of {paused.total}."
        return cards_message(bot, paused, note)
    group = str(interaction.guild_id) if interaction.guild_id else None
    session = await flashcards.start(
        user, interaction.user.display_name, topic=topic, area=area, count=count or 10, group_id=group,
        channel_id=str(interaction.channel_id),
    )  # fmt: skip
    if paused is not None:
        await flashcards.end(paused.id)
    due = sum(r == "due" for r in session.reasons.values())
    note = f"{due} due for review, {session.total - due} new." if due else f"{session.total} new cards."
    return cards_message(bot, session, note)


FLASHCARD_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    ShowAnswerButton,
    RateButton,
    CardsStopButton,
)
