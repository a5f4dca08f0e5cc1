"""The Bot subclass: wiring, cog loading, command sync and the one error handler for slash commands."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import Services
from bot.discord_app.ratelimit import RateLimiter
from bot.study.errors import StudybotError

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord_app.cogs.ask",
    "bot.discord_app.cogs.quiz",
    "bot.discord_app.cogs.interview",
    "bot.discord_app.cogs.progress",
    "bot.discord_app.cogs.admin",
)


class RateLimited(app_commands.CheckFailure):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.0f} s")
        self.retry_after = retry_after


class StudyTree(app_commands.CommandTree["StudyBot"]):
    async def interaction_check(self, interaction: discord.Interaction[StudyBot]) -> bool:
        if interaction.type is not discord.InteractionType.application_command:
            return True
        wait = interaction.client.limiter.hit(interaction.user.id)
        if wait:
            raise RateLimited(wait)
        return True

    async def on_error(self, interaction: discord.Interaction[StudyBot], error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)


def friendly(error: BaseException) -> str | None:
    """The words a user sees for an error we expect; None for a bug."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, RateLimited):
        return f"Slow down a little: you can use studybot again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the Manage Server permission for that."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That only works in a server."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use that here."
    if isinstance(error, StudybotError):
        return str(error)
    return None


async def report_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Tell the user in a short ephemeral message; log bugs with their traceback."""
    message = friendly(error)
    if message is None:
        log.error("command failed", exc_info=error)
        message = "Sorry, something went wrong on my side. Please try again."
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not report an error to the user", exc_info=True)


class StudyBot(commands.Bot):
    """studybot in Discord. Everything it needs is handed in here; nothing is global."""

    def __init__(
        self, services: Services, *, guild_ready_timeout: float = 2.0, shard_kwargs: dict[str, Any] | None = None
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # answers typed in interview threads and @mention questions
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=StudyTree,
            help_command=None,
            guild_ready_timeout=guild_ready_timeout,
            **(shard_kwargs or {}),
        )
        self.services = services
        self.limiter = RateLimiter(services.settings.rate_limit_per_minute)

    async def setup_hook(self) -> None:
        from bot.discord_app.views import DYNAMIC_ITEMS

        await self.services.db.migrate()
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        guild_id = self.services.settings.discord_test_guild
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        log.info("synced %d commands%s", len(synced), f" to guild {guild_id}" if guild_id else " globally")

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: the cogs' listeners handle @mentions and interview threads."""

    async def on_ready(self) -> None:
        log.info("connected as %s to %d servers", self.user, len(self.guilds))

    async def close(self) -> None:
        await super().close()
        await self.services.aclose()
