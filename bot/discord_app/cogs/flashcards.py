"""/cards: the answer cards as flashcards (show the answer, rate it), privately, on the fsrs schedule."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.cogs.quiz import area_autocomplete, topic_autocomplete
from bot.discord_app.views.flashcards import start_cards

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot


class Flashcards(commands.Cog):
    """Flashcards, Anki style."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot

    @app_commands.command(name="cards")
    @app_commands.describe(
        topic="Only cards of this topic", area="Only cards of this study area",
        count="How many cards (1-50, default 10)",
    )  # fmt: skip
    @app_commands.autocomplete(area=area_autocomplete, topic=topic_autocomplete)
    async def cards(
        self,
        interaction: discord.Interaction[StudyBot],
        topic: str | None = None,
        area: str | None = None,
        count: app_commands.Range[int, 1, 50] | None = None,
    ) -> None:
        """Flashcards: what is due first, then new cards; only you see them. Carries on a paused set."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        embed, view = await start_cards(interaction, topic, area, count)
        await interaction.followup.send(embed=embed, view=view, ephemeral=True)


async def setup(bot: StudyBot) -> None:
    await bot.add_cog(Flashcards(bot))
