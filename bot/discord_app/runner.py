"""``studybot run``: start the Discord bot with the token from the environment or a token file.

SIGTERM or SIGINT shuts the bot down gracefully (``StudyBot.close``: no new requests, up to
``STUDYBOT_SHUTDOWN_GRACE_S`` seconds for answers in flight, then disconnect and close the database),
and the process exits with 0; a second signal stops the wait. Everything ``run_bot`` starts is closed
by one ``AsyncExitStack``, however the run ends, in reverse order: to run one more thing beside the
bot (an HTTP server, say), enter it on the stack; entered before the bot is built, it starts before
the slow warm-up and stops only once the bot has shut down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import discord

from bot.app import build_services, install_worker_pool
from bot.discord_app.client import StudyBot, build_bot
from bot.http import HealthServer
from bot.settings import Settings
from bot.study.errors import ConfigError

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """SIGTERM and SIGINT on the running loop: the first asks for a graceful shutdown, a second hurries it."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.bot: StudyBot | None = None  # set once there is a bot to hurry
        self._loop = asyncio.get_running_loop()

    def __enter__(self) -> StopSignals:
        for sig in STOP_SIGNALS:
            self._loop.add_signal_handler(sig, self._received, sig)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig in STOP_SIGNALS:
            self._loop.remove_signal_handler(sig)

    def _received(self, sig: signal.Signals) -> None:
        if not self.requested.is_set():
            if self.bot is not None:  # from this moment on, not when the shutdown task gets to run
                self.bot.refuse_new_work()
            log.info("%s received: shutting down", sig.name)
            self.requested.set()
        elif self.bot is not None:
            log.warning("%s received again: closing without waiting for requests in flight", sig.name)
            self.bot.shut_down_now()


def shards_text(settings: Settings) -> str | None:
    """Which shards this process runs, for the log; None when it is not sharded. Checks the ids."""
    if not settings.sharded:
        return None
    ids = settings.shard_id_list()
    count = settings.shard_count if isinstance(settings.shard_count, int) else "Discord's recommended count"
    return f"shards {ids} of {count}" if ids is not None else f"all shards of {count}"


async def run_bot(settings: Settings) -> None:
    token = settings.discord_token_value()
    shards = shards_text(settings)  # a bad shard setting fails here, before the slow warm-up
    install_worker_pool(settings)
    async with contextlib.AsyncExitStack() as stack:
        signals = stack.enter_context(StopSignals())
        services = build_services(settings)
        stack.push_async_callback(services.aclose)  # the bot closes them too; a second close does nothing
        bots: list[StudyBot] = []
        if settings.http_port:  # up before the slow warm-up, and down only after the bot has closed
            problem = lambda: bots[0].connection_problem() if bots else "starting up"  # noqa: E731
            health = HealthServer(services, problem, settings.http_host, settings.http_port)
            await health.start()
            stack.push_async_callback(health.stop)
        await asyncio.to_thread(services.warm_up)
        if signals.requested.is_set():
            log.info("stopped before connecting to Discord")
            return
        bot = build_bot(services)
        stack.push_async_callback(bot.close)
        signals.bot = bot
        bots.append(bot)
        if shards:
            log.info("this process runs %s", shards)
        await _serve(bot, token, signals.requested)
    log.info("studybot shut down cleanly")


async def _serve(bot: StudyBot, token: str, stop: asyncio.Event) -> None:
    """Run the bot until Discord ends the connection or a stop is requested, then close it gracefully."""
    connection = asyncio.create_task(_connect(bot, token), name="discord-connection")
    stopping = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not connection.done():
        await bot.close()  # start() returns once the bot has disconnected
    try:
        await connection
    except ConfigError:
        raise
    except Exception as exc:
        if not stop.is_set():
            raise
        log.warning("the connection ended with %s while shutting down", type(exc).__name__)


async def _connect(bot: StudyBot, token: str) -> None:
    try:
        await bot.start(token)
    except discord.LoginFailure as exc:
        raise ConfigError("Discord rejected the token: check STUDYBOT_DISCORD_TOKEN") from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise ConfigError(
            "Discord refused the message content intent: enable it for the bot in the developer portal"
        ) from exc


def run(settings: Settings) -> None:
    try:
        asyncio.run(run_bot(settings))
    except KeyboardInterrupt:  # before the signal handlers are in place
        log.info("stopped")
