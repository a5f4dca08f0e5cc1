"""/healthz and /metrics: real HTTP on 127.0.0.1, real stores, failures of each dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Services
from bot.http import HealthServer
from ingest.pipeline import ingest
from tests.conftest import free_port


class _Discord:
    """Stands in for the bot's connection state (the Discord e2e tests cover the real one)."""

    problem: str | None = None

    def __call__(self) -> str | None:
        return self.problem


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Services, _Discord], object]]:
    servers: list[HealthServer] = []

    async def start(services: Services, discord: _Discord) -> str:
        server = HealthServer(services, discord, "127.0.0.1", free_port())
        await server.start()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield start  # type: ignore[misc]
    for server in servers:
        await server.stop()
        await server.services.aclose()


async def _get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_healthy_when_discord_store_and_database_answer(
    serve: Callable[..., object], make_services: Callable[..., Services], corpus: Path
) -> None:
    services = make_services()
    ingest([corpus], services.settings, services.store, services.embedder)
    discord = _Discord()
    base = await serve(services, discord)  # type: ignore[misc]
    status, kind, body = await _get(f"{base}/healthz")
    assert status == 200 and kind.startswith("application/json")
    assert '"status": "ok"' in body and '"database": "ok"' in body and '"vector_store": "ok"' in body

    discord.problem = "not connected yet"
    status, _, body = await _get(f"{base}/healthz")
    assert status == 503 and '"discord": "not connected yet"' in body and '"database": "ok"' in body


async def test_unhealthy_names_the_store_and_database_that_do_not_answer(
    serve: Callable[..., object], make_services: Callable[..., Services]
) -> None:
    closed = free_port()  # nothing listens here
    services = make_services(
        chroma_host="127.0.0.1",
        chroma_port=closed,
        database_url=f"postgresql+asyncpg://studybot:secret-pw@127.0.0.1:{closed}/studybot",
        db_retry_s=0,
    )
    base = await serve(services, _Discord())  # type: ignore[misc]
    status, _, body = await _get(f"{base}/healthz")
    assert status == 503
    assert '"discord": "ok"' in body
    assert '"vector_store": "ok"' not in body and "vector store" in body
    assert '"database": "unreachable"' in body or '"database": "no answer' in body
    assert "secret-pw" not in body  # the database URL's password never leaves the process


async def test_metrics_count_answers_and_active_sessions(
    serve: Callable[..., object], make_services: Callable[..., Services], corpus: Path
) -> None:
    services = make_services()
    ingest([corpus], services.settings, services.store, services.embedder)
    await services.db.migrate()
    base = await serve(services, _Discord())  # type: ignore[misc]
    await services.answers.ask("How is recall computed?")
    await services.answers.ask("What does dropout do?")
    services.metrics.commands.labels("ask").inc(2)
    await services.quizzes.start("u1", "Ada", count=2)

    status, kind, body = await _get(f"{base}/metrics")
    assert status == 200 and kind.startswith("text/plain") and "version=0.0.4" in kind
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    assert samples[("studybot_answer_seconds_count", (("composer", "section"),))] == 2
    assert samples[("studybot_commands_total", (("command", "ask"),))] == 2
    assert samples[("studybot_active_sessions", (("kind", "quiz"),))] == 1
    assert samples[("studybot_active_sessions", (("kind", "interview"),))] == 0
    assert samples[("studybot_llm_fallbacks_total", ())] == 0


async def test_a_port_in_use_is_a_clear_error(make_services: Callable[..., Services]) -> None:
    services = make_services()
    first = HealthServer(services, _Discord(), "127.0.0.1", free_port())
    await first.start()
    try:
        second = HealthServer(services, _Discord(), "127.0.0.1", first.port)
        with pytest.raises(Exception, match="STUDYBOT_HTTP_PORT"):
            await second.start()
    finally:
        await first.stop()
        await services.aclose()
