"""The Bot subclass: wiring, cog loading, command sync, the one error handler for slash commands,
and the graceful shutdown.

Shutting down (``StudyBot.close``, which SIGTERM and SIGINT call in ``runner.py``): new requests
(slash commands, @mention questions) are refused with a short "restarting" reply; the handlers
already running (tracked in ``StudyBot.work``) get up to ``shutdown_grace_s`` seconds to finish and
send their answers; then the gateway connection, the HTTP session and the services (the database)
close. Input to sessions already underway (quiz buttons, answer forms, answers typed in an interview
thread) is still taken during the grace period: refusing it would drop an answer the learner already
wrote. Quiz and interview sessions are saved at every step, so nothing else needs saving.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import Services
from bot.discord_app.ratelimit import RateLimiter
from bot.study.errors import StudybotError

log = logging.getLogger(__name__)

RESTARTING = "studybot is restarting: try again in a moment."
# After the grace period (or a second signal), how long cancelled handlers get to unwind.
CANCEL_WAIT_S = 2.0

EXTENSIONS = (
    "bot.discord_app.cogs.ask",
    "bot.discord_app.cogs.quiz",
    "bot.discord_app.cogs.flashcards",
    "bot.discord_app.cogs.reminders",
    "bot.discord_app.cogs.interview",
    "bot.discord_app.cogs.progress",
    "bot.discord_app.cogs.admin",
)


class RateLimited(app_commands.CheckFailure):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.0f} s")
        self.retry_after = retry_after


class ShuttingDown(app_commands.CheckFailure):
    def __init__(self) -> None:
        super().__init__("studybot is shutting down")


class StudyTree(app_commands.CommandTree["StudyBot"]):
    async def interaction_check(self, interaction: discord.Interaction[StudyBot]) -> bool:
        # The first thing to run for every slash command and autocomplete, in the task that runs it.
        bot = interaction.client
        if not bot.track_handler():
            return False
        is_command = interaction.type is discord.InteractionType.application_command
        if bot.shutting_down:
            if is_command:
                raise ShuttingDown()
            return False  # an autocomplete: no suggestions while shutting down
        if not is_command:
            return True
        wait = bot.limiter.hit(interaction.user.id)
        if wait:
            raise RateLimited(wait)
        return True

    async def on_error(self, interaction: discord.Interaction[StudyBot], error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)


def friendly(error: BaseException) -> str | None:
    """The words a user sees for an error we expect; None for a bug."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, ShuttingDown):
        return RESTARTING
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
    """Tell the user in a short ephemeral message; log bugs with their traceback; count both."""
    message = friendly(error)
    if message is None:
        log.error("command failed", exc_info=error)
        message = "Sorry, something went wrong on my side. Please try again."
    if isinstance(interaction.client, StudyBot):
        interaction.client.services.metrics.errors.labels(error_kind(error, message is not None)).inc()
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not report an error to the user", exc_info=True)


def error_kind(error: BaseException, expected: bool) -> str:
    """The ``kind`` label of studybot_errors_total: the error's class, or "bug" for unexpected ones."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    return type(error).__name__ if expected else "bug"


class Work:
    """The handlers running now (one asyncio task each), and whether new requests are still taken."""

    def __init__(self) -> None:
        self.accepting = True  # False: new requests get a short "restarting" reply instead
        self.listening = True  # False: past the grace period, events are dropped unanswered
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._pending())

    def track(self, task: asyncio.Task[Any]) -> None:
        if task not in self._tasks and not task.done():
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _pending(self) -> set[asyncio.Task[Any]]:
        # Never wait for the task doing the waiting (a handler that closes the bot).
        return {t for t in self._tasks if not t.done() and t is not asyncio.current_task()}

    async def drain(self, timeout: float, hurry: asyncio.Event) -> int:
        """Wait until nothing runs, ``timeout`` seconds pass or ``hurry`` is set; return how many still run."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        hurried = asyncio.ensure_future(hurry.wait())
        try:
            while (pending := self._pending()) and not hurry.is_set():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                await asyncio.wait({*pending, hurried}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hurried.cancel()
        return len(self._pending())

    async def cancel(self) -> None:
        """Cancel what still runs and give it a moment to unwind."""
        pending = self._pending()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=CANCEL_WAIT_S)


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
        self.work = Work()
        self._hurry = asyncio.Event()
        self._shutdown: asyncio.Task[None] | None = None
        self._track_component_handlers()

    async def setup_hook(self) -> None:
        from bot.discord_app.views import DYNAMIC_ITEMS

        await self.services.db.migrate()
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        shard_ids = self.services.settings.shard_id_list()
        if shard_ids is not None and 0 not in shard_ids:  # one process syncs, not every shard process
            log.info("commands are synced by the process that runs shard 0")
            return
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
        log.info("connected as %s to %d servers%s", self.user, len(self.guilds), self.shards_text())

    async def on_app_command_completion(
        self, interaction: discord.Interaction[StudyBot], command: app_commands.Command[Any, ..., Any]
    ) -> None:
        self.services.metrics.commands.labels(command.qualified_name).inc()

    def connection_problem(self) -> str | None:
        """For /healthz: None when connected to Discord (every shard), else what is wrong."""
        if self.is_closed():
            return "disconnected"
        if not self.is_ready():
            return "not connected yet"
        if isinstance(self, commands.AutoShardedBot):
            down = sorted(sid for sid, shard in self.shards.items() if shard.is_closed())
            if down:
                return f"shard(s) {down} disconnected"
        elif self.ws is None or not self.ws.open:
            return "disconnected"
        return None

    async def on_shard_ready(self, shard_id: int) -> None:
        log.info("shard %d of %s is ready", shard_id, self.shard_count)

    def shards_text(self) -> str:
        """For the log: which shards this process runs (" on shards [0, 1] of 4"); "" when not sharded."""
        if not isinstance(self, commands.AutoShardedBot):
            return ""
        return f" on shards {sorted(self.shards)} of {self.shard_count}"

    # ---- work in flight and shutting down ----------------------------------------------------

    @property
    def shutting_down(self) -> bool:
        return not self.work.accepting

    def track_handler(self) -> bool:
        """Count the running handler as work in flight: shutting down waits for it to finish.

        False once the grace period is over and the bot disconnects: the handler must then return
        at once, without a reply (Discord shows the user that the interaction failed).
        """
        task = asyncio.current_task()
        if task is not None and self.work.listening:
            self.work.track(task)
        return self.work.listening

    def _track_component_handlers(self) -> None:
        """Count buttons, selects and modals as work in flight too.

        discord.py runs each in a task that its view store keeps with ``add_task``; that is the one
        place where every such task passes, so the bot wraps it (a discord.py internal, checked by
        tests/discord/test_shutdown.py).
        """
        store = self._connection._view_store
        add_task = store.add_task

        def add_and_track(task: asyncio.Task[None]) -> None:
            add_task(task)
            if self.work.listening:
                self.work.track(task)
            else:
                task.cancel()  # not started yet: dropped, see track_handler

        store.add_task = add_and_track  # type: ignore[method-assign]

    def refuse_new_work(self) -> None:
        """New requests get the "restarting" reply from now on (the first step of shutting down)."""
        self.work.accepting = False

    def shut_down_now(self) -> None:
        """Stop waiting for work in flight (a second SIGTERM): cancel it and close at once."""
        self._hurry.set()

    async def close(self) -> None:
        """Shut down: refuse new requests, let work in flight finish, then disconnect and close the services.

        Idempotent: every caller waits for the same shutdown.
        """
        if self._shutdown is None:
            self._shutdown = asyncio.create_task(self._shut_down(), name="studybot-shutdown")
        await asyncio.shield(self._shutdown)

    async def _shut_down(self) -> None:
        self.refuse_new_work()
        grace = self.services.settings.shutdown_grace_s
        if len(self.work):
            log.info("shutting down: waiting up to %.0f s for %d request(s) in flight", grace, len(self.work))
        left = await self.work.drain(grace, self._hurry)
        self.work.listening = False
        if left:
            log.warning("shutting down: cancelling %d request(s) still in flight", left)
            await self.work.cancel()
        try:
            await super().close()  # unloads the cogs (stopping their loops), then disconnects
        finally:
            await self.services.aclose()


class ShardedStudyBot(StudyBot, commands.AutoShardedBot):
    """StudyBot over several gateway connections (shards) in one process; everything else is the same."""


def build_bot(services: Services) -> StudyBot:
    """The bot the settings ask for: sharded when they name a shard count or shard ids."""
    settings = services.settings
    timeout = settings.discord_guild_ready_timeout
    if not settings.sharded:
        return StudyBot(services, guild_ready_timeout=timeout)
    count = settings.shard_count if isinstance(settings.shard_count, int) else None  # None: ask Discord
    shards = {"shard_count": count, "shard_ids": settings.shard_id_list()}
    return ShardedStudyBot(services, guild_ready_timeout=timeout, shard_kwargs=shards)
