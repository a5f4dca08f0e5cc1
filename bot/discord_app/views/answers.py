"""Under an answer: helpful / not helpful, and the related questions as buttons."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.discord_app import render
from bot.discord_app.client import report_error
from bot.discord_app.views.common import Interaction, user_key
from bot.study.answering import Answer


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
