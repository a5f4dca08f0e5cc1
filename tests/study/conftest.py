"""Database fixtures: a real PostgreSQL server (started here, stopped at the end) next to SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer, missing_reason, start_server


def _server() -> Iterator[PostgresServer]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    server = start_server()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server most tests share; each test gets its own database on it."""
    yield from _server()


@pytest.fixture(scope="session")
def outage_server() -> Iterator[PostgresServer]:
    """A second server that outage tests stop and start, so that nothing else notices."""
    yield from _server()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the shared server (dropped afterwards)."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind the store supports."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/studybot.db"
    return str(request.getfixturevalue("postgres_url"))
