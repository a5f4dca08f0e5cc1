"""Fixtures for end-to-end tests of the Discord layer against the loopback fake Discord.

- `fake_discord`: a started FakeDiscord (default world: guild "Study Group" 1000 with #general 2000
  and #study 2001, an owner-admin, two plain members, the bot; token "test-token"), with discord.py's
  `Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY` pointed at it and restored afterwards.
- `discord_errors` (autouse): fails the test when discord.py, the bot, aiohttp or asyncio log at
  ERROR (discord.py only logs exceptions raised in commands, views and events, so a crash would
  otherwise look like a timeout; the fake's waits also fail at once). A test that provokes an error
  on purpose is marked `@pytest.mark.discord_errors_expected` or calls `discord_errors.expect()`.
- `start_bot`: `await start_bot(bot)` runs `bot.start("test-token")` in a task, returns once the
  bot is ready and closes it at teardown. Give the bot a low `guild_ready_timeout`. Closing a
  StudyBot is its whole graceful shutdown (as on SIGTERM): it waits for the handlers in flight,
  then disconnects and closes its services (the database).
- `fake_discord_env`: the environment for a subprocess (the real entry point) to use the fake.
- `notes_data_dir`: a data dir of the test's own with the sample notes ingested, for a bot in
  process (`bot_settings`) or a subprocess (STUDYBOT_DATA_DIR, see processes.py).
- `bot_services`: `bot_services(**settings)` builds Services for an in-process bot over
  `notes_data_dir`, sharing the session's loaded model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import traceback
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.app import Services, build_services
from bot.settings import Settings
from bot.study.answering import CardIndex
from bot.study.embedding import Embedder
from tests.conftest import share_session_models
from tests.discord.fake_discord import VALID_TOKEN, WAIT, BotLoggedError, FakeDiscord

REPO = Path(__file__).resolve().parents[2]
SITECUSTOMIZE_DIR = Path(__file__).resolve().parent / "sitecustomize"
WATCHED_LOGGERS = ("discord", "bot", "aiohttp", "asyncio")
EXPECTED_MARKER = "discord_errors_expected"

ClientT = TypeVar("ClientT", bound=discord.Client)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{EXPECTED_MARKER}: the test makes discord.py or the bot log an ERROR")


class ErrorCollector(logging.Handler):
    """Collects ERROR records from the watched loggers and tells the fake about unexpected ones."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.expected = False
        self.listeners: list[Callable[[str], None]] = []
        self._reported = 0

    def expect(self) -> None:
        """This test makes the bot log an error on purpose: do not fail it for that."""
        self.expected = True

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if not self.expected:
            for listener in self.listeners:
                listener(self.describe(record))

    @staticmethod
    def describe(record: logging.LogRecord) -> str:
        text = f"{record.name} [{record.levelname}] {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + "".join(traceback.format_exception(record.exc_info[1]))
        return text

    def take_unreported(self) -> list[str]:
        """Unexpected errors not reported yet (each is reported once: in the call or at teardown)."""
        new, self._reported = self.records[self._reported :], len(self.records)
        return [] if self.expected else [self.describe(r) for r in new]


_ERRORS = pytest.StashKey[ErrorCollector]()


def _failure_text(errors: list[str]) -> str:
    return "discord.py or the bot logged at ERROR:\n\n" + "\n\n".join(errors)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    collector = item.stash.get(_ERRORS, None)
    try:
        result = yield
    except BaseException as exc:
        errors = collector.take_unreported() if collector is not None else []
        if errors and not isinstance(exc, BotLoggedError):
            exc.add_note(_failure_text(errors))
        raise
    errors = collector.take_unreported() if collector is not None else []
    if errors:
        pytest.fail(_failure_text(errors), pytrace=False)
    return result


@pytest.fixture(autouse=True)
def discord_errors(request: pytest.FixtureRequest) -> Iterator[ErrorCollector]:
    collector = ErrorCollector()
    if request.node.get_closest_marker(EXPECTED_MARKER) is not None:
        collector.expect()
    loggers = [logging.getLogger(name) for name in WATCHED_LOGGERS]
    for logger in loggers:
        logger.addHandler(collector)
    request.node.stash[_ERRORS] = collector
    try:
        yield collector
    finally:
        for logger in loggers:
            logger.removeHandler(collector)
    errors = collector.take_unreported()  # logged while tearing down (closing the bot, the fake)
    if errors:
        pytest.fail(_failure_text(errors), pytrace=False)


@pytest.fixture
async def fake_discord(discord_errors: ErrorCollector) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(token=VALID_TOKEN)
    await fake.start()
    discord_errors.listeners.append(fake.report_error)
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = fake.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield fake
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway
        await fake.close()
        await _no_tasks_left_behind()


class BotStarter(Protocol):
    async def __call__(self, bot: ClientT, *, token: str = ..., timeout: float = ...) -> ClientT: ...


@pytest.fixture
async def start_bot(fake_discord: FakeDiscord) -> AsyncIterator[BotStarter]:
    running: list[tuple[discord.Client, asyncio.Task[None]]] = []

    async def start(bot: ClientT, *, token: str = VALID_TOKEN, timeout: float = WAIT) -> ClientT:
        task = asyncio.create_task(bot.start(token), name=f"{type(bot).__name__}.start")
        running.append((bot, task))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not bot.is_ready():
            if task.done():
                await bot.close()
                task.result()  # raises what start raised (LoginFailure, PrivilegedIntentsRequired...)
                raise RuntimeError("bot.start() returned before the bot was ready")
            if loop.time() > deadline:
                raise TimeoutError(f"the bot was not ready after {timeout}s")
            await asyncio.sleep(0.005)
        return bot

    yield start
    for bot, task in reversed(running):
        await bot.close()
        if task.done():
            if not task.cancelled():
                task.exception()  # already raised by start(); retrieve it so asyncio does not log it
            continue
        try:
            await asyncio.wait_for(task, timeout=WAIT)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise


async def _no_tasks_left_behind(timeout: float = 5.0) -> None:
    """Cancel what the closed bot left running; fail, naming them, if any ignore cancellation.

    Without this, a task that never finishes hangs pytest-asyncio's loop teardown forever.
    """
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    for task in left:
        task.cancel()
    if not left:
        return
    _, pending = await asyncio.wait(left, timeout=timeout)
    if pending:
        stacks = "\n".join(f"{t!r}: {t.get_stack()}" for t in pending)
        raise RuntimeError(f"{len(pending)} task(s) ignored cancellation after the bot closed:\n{stacks}")


@pytest.fixture
def fake_discord_env(fake_discord: FakeDiscord) -> dict[str, str]:
    """Environment for a subprocess whose discord.py should talk to the fake (see sitecustomize/)."""
    env = dict(os.environ)
    env["FAKE_DISCORD_PORT"] = str(fake_discord.port)
    env["STUDYBOT_HTTP_PORT"] = "0"  # no /healthz unless a test asks: processes run side by side
    paths = [str(SITECUSTOMIZE_DIR), str(REPO), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


@pytest.fixture
def notes_data_dir(corpus: Path, tmp_path: Path, embedder: Embedder) -> Path:
    """The sample notes (tests/conftest.py) ingested under a data dir of this test's own."""
    from ingest.pipeline import ingest

    data = tmp_path / "data"
    settings = Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]
    services = build_services(settings)
    report = ingest([corpus], settings, services.store, embedder)
    assert report.chunks > 0
    return data


@pytest.fixture
def bot_services(notes_data_dir: Path, embedder: Embedder, card_index: CardIndex) -> Callable[..., Services]:
    """Services for an in-process bot: the sample notes, a database of the test's own, the session's model."""

    def make(**overrides: object) -> Services:
        values: dict[str, object] = {
            "data_dir": notes_data_dir,
            "knowledge_dir": REPO / "knowledge",
            "discord_guild_ready_timeout": 0.05,
        }
        values.update(overrides)
        services = build_services(Settings(_env_file=None, **values))  # type: ignore[call-arg]
        return share_session_models(services, embedder, card_index)

    return make


class LogWatch(logging.Handler):
    """Log records as events a test can await: ``await logs.wait_for("connected as")``.

    A record can come from any thread (discord.py logs from its own tasks, the core from worker
    threads), so waiters are woken through the loop that created them.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._waiters: list[tuple[str, asyncio.Future[str], asyncio.AbstractEventLoop]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.messages.append(message)
        for text, future, loop in list(self._waiters):
            if text in message:
                loop.call_soon_threadsafe(lambda f=future, m=message: f.done() or f.set_result(m))

    async def wait_for(self, text: str, *, timeout: float = 30.0) -> str:
        """The first message containing ``text``, already logged or the next one to be."""
        seen = next((m for m in self.messages if text in m), None)
        if seen is not None:
            return seen
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        entry = (text, future, loop)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"no log message with {text!r} within {timeout}s") from None
        finally:
            self._waiters.remove(entry)


@pytest.fixture
def log_watch() -> Iterator[LogWatch]:
    """Every record of the ``bot`` loggers, awaitable (see LogWatch)."""
    watch = LogWatch()
    logger = logging.getLogger("bot")
    old_level = logger.level
    logger.addHandler(watch)
    logger.setLevel(logging.DEBUG)
    yield watch
    logger.removeHandler(watch)
    logger.setLevel(old_level)
