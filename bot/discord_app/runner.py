"""``studybot run``: start the Discord bot with the token from the environment or a token file."""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.app import build_services, install_worker_pool
from bot.discord_app.client import StudyBot
from bot.settings import Settings
from bot.study.errors import ConfigError

log = logging.getLogger(__name__)


async def run_bot(settings: Settings) -> None:
    token = settings.discord_token_value()
    install_worker_pool(settings)
    services = build_services(settings)
    await asyncio.to_thread(services.warm_up)
    bot = StudyBot(services, guild_ready_timeout=settings.discord_guild_ready_timeout)
    try:
        await bot.start(token)
    except discord.LoginFailure as exc:
        raise ConfigError("Discord rejected the token: check STUDYBOT_DISCORD_TOKEN") from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise ConfigError(
            "Discord refused the message content intent: enable it for the bot in the developer portal"
        ) from exc
    finally:
        if not bot.is_closed():
            await bot.close()


def run(settings: Settings) -> None:
    try:
        asyncio.run(run_bot(settings))
    except KeyboardInterrupt:
        log.info("stopped")
