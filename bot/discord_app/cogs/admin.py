"""Server admin commands (Manage Server): study material and the channels that answer @mentions."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from ingest.load import SUPPORTED_SUFFIXES
from ingest.pipeline import ingest, remove_sources

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot

ALLOWED_TYPES = {".md", ".markdown", ".txt", ".pdf", ".html", ".htm"} & SUPPORTED_SUFFIXES


def _safe_name(filename: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(filename).name).strip(".-")
    return stem[:120] or "material"


async def require_manage_guild(interaction: discord.Interaction[StudyBot]) -> bool:
    """Discord hides these commands from non-admins by default, but a server can change that: check again."""
    permissions = interaction.permissions
    if interaction.guild is None or not permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])
    return True


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class Material(commands.GroupCog, group_name="material"):
    """Study material for this server."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[StudyBot]) -> bool:  # type: ignore[override]
        return await require_manage_guild(interaction)

    @app_commands.command(name="add")
    @app_commands.describe(file="A Markdown, text, PDF or HTML file")
    async def add(self, interaction: discord.Interaction[StudyBot], file: discord.Attachment) -> None:
        """Add a document to this server's study material."""
        settings = self.bot.services.settings
        suffix = Path(file.filename).suffix.lower()
        if suffix not in ALLOWED_TYPES:
            allowed = ", ".join(sorted(ALLOWED_TYPES))
            await interaction.response.send_message(f"I can only read {allowed} files.", ephemeral=True)
            return
        limit = int(settings.material_max_mb * 1024 * 1024)
        if file.size > limit:
            await interaction.response.send_message(
                f"That file is {file.size / 1_048_576:.1f} MB; the limit is {settings.material_max_mb:g} MB.",
                ephemeral=True,
            )
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        data = await file.read()
        guild = str(interaction.guild_id)
        name = _safe_name(file.filename)
        folder = settings.data_dir / "materials" / guild
        path = folder / name
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(path.write_bytes, data[:limit])
        store = self.bot.services.guild_store(guild)
        report = await asyncio.to_thread(ingest, [path], store.settings, store, self.bot.services.embedder)
        if report.files == 0:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            reason = report.skipped[0][1] if report.skipped else "unreadable"
            await interaction.followup.send(f"I could not read `{name}`: {reason}.", ephemeral=True)
            return
        source = report_source(path, settings.knowledge_dir)
        await self.bot.services.db.add_material(guild, name, source, f"discord:{interaction.user.id}", report.chunks)
        await interaction.followup.send(
            f"Added `{name}`: {report.chunks} passages are now searchable here.", ephemeral=True
        )

    @app_commands.command(name="list")
    async def list_(self, interaction: discord.Interaction[StudyBot]) -> None:
        """List this server's study material."""
        rows = await self.bot.services.db.materials(str(interaction.guild_id))
        text = "\n".join(
            f"`{name}` · {chunks} passages · added <t:{int(at.timestamp())}:d>" for name, _, chunks, at in rows
        )
        await interaction.response.send_message(text or "No material added yet: use /material add.", ephemeral=True)

    @app_commands.command(name="remove")
    @app_commands.describe(name="The file name shown by /material list")
    async def remove(self, interaction: discord.Interaction[StudyBot], name: str) -> None:
        """Remove a document from this server's study material."""
        guild = str(interaction.guild_id)
        source = await self.bot.services.db.remove_material(guild, name)
        if source is None:
            await interaction.response.send_message(f"There is no material called `{name}`.", ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        store = self.bot.services.guild_store(guild)
        report = await asyncio.to_thread(remove_sources, store, [source], store.settings)
        removed = report.chunks
        path = self.bot.services.settings.data_dir / "materials" / guild / name
        await asyncio.to_thread(path.unlink, missing_ok=True)
        await interaction.followup.send(f"Removed `{name}` ({removed} passages).", ephemeral=True)


def report_source(path: Path, knowledge_dir: Path) -> str:
    from ingest.load import source_label

    return source_label(path, knowledge_dir.resolve().parent)


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class Mentions(commands.GroupCog, group_name="mentions"):
    """Where studybot answers @mention questions."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[StudyBot]) -> bool:  # type: ignore[override]
        return await require_manage_guild(interaction)

    @app_commands.command(name="enable")
    @app_commands.describe(channel="The text channel where members may ask @studybot")
    async def enable(self, interaction: discord.Interaction[StudyBot], channel: discord.TextChannel) -> None:
        """Answer @studybot questions in this channel."""
        await self.bot.services.db.set_mention_channel(str(interaction.guild_id), str(channel.id), True)
        await interaction.response.send_message(f"I now answer @mentions in {channel.mention}.", ephemeral=True)

    @app_commands.command(name="disable")
    @app_commands.describe(channel="The text channel where @studybot should stop answering")
    async def disable(self, interaction: discord.Interaction[StudyBot], channel: discord.TextChannel) -> None:
        """Stop answering @mentions in this channel."""
        await self.bot.services.db.set_mention_channel(str(interaction.guild_id), str(channel.id), False)
        await interaction.response.send_message(f"I no longer answer @mentions in {channel.mention}.", ephemeral=True)

    @app_commands.command(name="list")
    async def list_(self, interaction: discord.Interaction[StudyBot]) -> None:
        """The channels where I answer @mentions."""
        ids = await self.bot.services.db.mention_channels(str(interaction.guild_id))
        text = ", ".join(f"<#{i}>" for i in sorted(ids)) or "none yet: use /mentions enable"
        await interaction.response.send_message(f"I answer @mentions in: {text}", ephemeral=True)


async def setup(bot: StudyBot) -> None:
    await bot.add_cog(Material(bot))
    await bot.add_cog(Mentions(bot))
