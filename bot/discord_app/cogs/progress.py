"""/progress, /leaderboard, /topics, /sources and /forget-me."""

from __future__ import annotations

import asyncio
import io
from pathlib import PurePath
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import render
from bot.discord_app.views import ConfirmView, user_key
from bot.study.progress import mastery_chart

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot


class Progress(commands.Cog):
    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot

    @app_commands.command(name="progress")
    async def progress(self, interaction: discord.Interaction[StudyBot]) -> None:
        """Your mastery by area, streak and reviews due, with a chart."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        progress = await self.bot.services.progress.progress(user_key(interaction.user))
        png = await asyncio.to_thread(mastery_chart, progress.areas)
        await interaction.followup.send(
            embed=render.progress_embed(progress, interaction.user.display_name),
            file=discord.File(io.BytesIO(png), filename="mastery.png"),
            ephemeral=True,
        )

    @app_commands.command(name="leaderboard")
    @app_commands.guild_only()
    async def leaderboard(self, interaction: discord.Interaction[StudyBot]) -> None:
        """This server's top learners of the last 7 days."""
        await interaction.response.defer(thinking=True)
        rows = await self.bot.services.progress.leaderboard(str(interaction.guild_id), days=7)
        name = interaction.guild.name if interaction.guild else "this server"
        await interaction.followup.send(embed=render.leaderboard_embed(rows, name, 7))

    @app_commands.command(name="topics")
    async def topics(self, interaction: discord.Interaction[StudyBot]) -> None:
        """The study areas and their topics."""
        embed = discord.Embed(title="Study areas and topics", colour=render.COLOUR)
        for area in self.bot.services.topics.areas[:25]:
            value = ", ".join(t.id for t in area.topics)
            embed.add_field(
                name=render.clip(f"{area.title} ({area.id})", 256), value=render.clip(value, 1024), inline=False
            )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="sources")
    async def sources(self, interaction: discord.Interaction[StudyBot]) -> None:
        """The documents studybot answers from."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        services = self.bot.services
        rows = await asyncio.to_thread(services.store.sources)
        if interaction.guild_id:
            rows += await asyncio.to_thread(services.guild_store(interaction.guild_id).sources)
        # By title, as answers cite them (a file name only for a document without one).
        lines = [f"{title or PurePath(source).name} · {chunks} chunks" for source, title, chunks in rows]
        # One embed: all embeds of a message share a 6,000-character budget.
        shown: list[str] = []
        for line in lines:
            if sum(len(x) + 1 for x in shown) + len(line) > render.DESCRIPTION_LIMIT - 40:
                shown.append(f"… and {len(lines) - len(shown)} more")
                break
            shown.append(line)
        embed = discord.Embed(title=f"{len(rows)} documents", colour=render.COLOUR)
        embed.description = "\n".join(shown) or "Nothing ingested yet."
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="forget-me")
    async def forget_me(self, interaction: discord.Interaction[StudyBot]) -> None:
        """Delete everything studybot stores about you."""
        view = ConfirmView(interaction.user.id, confirm_label="Delete my data")
        await interaction.response.send_message(
            "This deletes all your answers, reviews, progress and sessions. It cannot be undone.",
            view=view,
            ephemeral=True,
        )
        view.message = await interaction.original_response()
        await view.wait()
        if view.confirmed:
            removed = await self.bot.services.db.delete_user(user_key(interaction.user))
            await interaction.edit_original_response(content=f"Done: deleted {removed} records about you.", view=None)
        elif view.confirmed is False:
            await interaction.edit_original_response(content="Nothing was deleted.", view=None)


async def setup(bot: StudyBot) -> None:
    await bot.add_cog(Progress(bot))
