"""A PostgreSQL server that goes away for a while: writes wait for it, land exactly once, or fail clearly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from bot.study.store import AttemptRecord, Store, StoreUnavailable
from tests.postgres import PostgresServer

pytestmark = pytest.mark.slow


def _attempt(user: str, item: str, session: str | None = None) -> AttemptRecord:
    return AttemptRecord(
        user_id=user, item_id=item, kind="quiz", area="math", topic="probability", score=1.0, correct=True,
        answered_at=datetime.now(UTC), group_id="g1", session_id=session,
    )  # fmt: skip


@pytest.fixture
def outage_url(outage_server: PostgresServer) -> Iterator[str]:
    """A fresh database on the server these tests stop; it is running again after every test."""
    outage_server.ensure_running()
    name = outage_server.create_database()
    yield outage_server.url(name)
    outage_server.ensure_running()
    outage_server.drop_database(name)


async def _open(url: str, retry_s: float) -> Store:
    store = Store(url, retry_s=retry_s)
    await store.migrate()
    await store.ensure_user("u1", "Ada", "g1")
    await store.save_session("s1", "quiz", "u1", {"index": 0})  # the pool now holds a live connection
    return store


async def test_an_answer_during_a_restart_waits_for_the_server_and_is_stored_once(
    outage_server: PostgresServer, outage_url: str
) -> None:
    store = await _open(outage_url, retry_s=15)
    try:
        outage_server.stop()
        answer = asyncio.gather(
            store.record_attempt(_attempt("u1", "i1", "s1"), card={"state": 1}, due=datetime.now(UTC)),
            store.save_session("s1", "quiz", "u1", {"index": 1}),
            store.load_session("s1"),
        )
        await asyncio.sleep(1.5)
        assert not answer.done()  # still waiting for the server, not failed
        await asyncio.to_thread(outage_server.start)
        _, _, loaded = await asyncio.wait_for(answer, timeout=15)
        assert loaded is not None
        [stored] = await store.attempts("u1")
        assert (stored.item_id, stored.session_id) == ("i1", "s1")
        assert await store.card("u1", "i1") == {"state": 1}
        session = await store.load_session("s1")
        assert session is not None and session.state == {"index": 1}
        assert [(row.answered, row.points) for row in await store.leaderboard("g1")] == [(1, 1.0)]
    finally:
        await store.close()


async def test_a_longer_outage_fails_with_a_clear_message_then_the_same_store_works_again(
    outage_server: PostgresServer, outage_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = await _open(outage_url, retry_s=1.5)
    try:
        outage_server.stop()
        started = time.monotonic()
        with caplog.at_level(logging.WARNING), pytest.raises(StoreUnavailable) as failure:
            await store.record_attempt(_attempt("u1", "lost"))
        waited = time.monotonic() - started
        assert 1.5 <= waited < 4.5
        message = str(failure.value)
        assert message.startswith("the database is unreachable (connection refused)")
        assert "within 1.5 s" in message and "nothing was changed" in message
        for secret in (outage_server.password, outage_url, "127.0.0.1", str(outage_server.port), "Traceback"):
            assert secret not in message and secret not in caplog.text
        assert "database unreachable" in caplog.text  # one warning for the operator
        started = time.monotonic()
        assert await store.ping() is False
        assert time.monotonic() - started < 1  # a health check is answered now, not after retries

        outage_server.start()
        await store.record_attempt(_attempt("u1", "kept"))
        assert [a.item_id for a in await store.attempts("u1")] == ["kept"]  # nothing of the failed write
        assert await store.ping() is True
    finally:
        await store.close()


class LostAcknowledgement:
    """A TCP relay to the server that, when armed, passes the next COMMIT on and then cuts the
    connection instead of relaying the server's answer: the commit happened, the client cannot know."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.armed = False
        self.dropped = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _relay(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        committing = asyncio.Event()

        async def to_server() -> None:
            while data := await client_in.read(65536):
                if self.armed and b"COMMIT" in data:
                    self.armed = False
                    committing.set()
                server_out.write(data)
                await server_out.drain()

        async def to_client() -> None:
            while data := await server_in.read(65536):
                if committing.is_set():  # the server's answer to COMMIT: it never arrives
                    self.dropped += 1
                    break
                client_out.write(data)
                await client_out.drain()
            client_out.close()
            server_out.close()

        await asyncio.gather(to_server(), to_client(), return_exceptions=True)


@pytest.fixture
async def relay(postgres_server: PostgresServer) -> AsyncIterator[LostAcknowledgement]:
    relay = LostAcknowledgement(postgres_server.port)
    yield relay
    await relay.close()


async def test_a_write_whose_commit_acknowledgement_is_lost_is_not_applied_twice(
    postgres_server: PostgresServer, postgres_url: str, relay: LostAcknowledgement
) -> None:
    port = await relay.start()
    store = await _open(postgres_url.replace(f":{postgres_server.port}/", f":{port}/"), retry_s=15)
    try:
        relay.armed = True
        await store.record_attempt(_attempt("u1", "i1", "s1"), card={"state": 1}, due=datetime.now(UTC))
        relay.armed = True
        await store.record_feedback("u1", "what is dropout?", "a regularizer", helpful=True)
        assert relay.dropped == 2  # both commits really lost their answer and were retried
        assert [a.item_id for a in await store.attempts("u1")] == ["i1"]
        exported = await store.export_user("u1")
        assert len(exported["feedback"]) == 1 and len(exported["review_cards"]) == 1
    finally:
        await store.close()


async def test_connections_the_server_dropped_are_replaced_before_use(
    postgres_server: PostgresServer, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = await _open(postgres_url, retry_s=15)
    try:
        database = postgres_url.rsplit("/", 1)[-1]
        killed = postgres_server.sql(
            f"select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = '{database}'"
        )
        assert int(killed) >= 1
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            await store.record_attempt(_attempt("u1", "i1"))
        assert time.monotonic() - started < 1
        assert "unreachable" not in caplog.text  # the dead connection was swapped, nothing had to wait
        assert len(await store.attempts("u1")) == 1
    finally:
        await store.close()


@pytest.mark.parametrize("problem", ["password", "database"])
async def test_the_server_turning_the_store_away_is_reported_at_once(
    postgres_server: PostgresServer, postgres_url: str, problem: str
) -> None:
    if problem == "password":
        url, expected = postgres_url.replace(postgres_server.password, "wrong-pw"), "password authentication failed"
    else:
        url, expected = postgres_server.url("no_such_db"), 'database "no_such_db" does not exist'
    store = Store(url, retry_s=15)
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailable) as failure:
            await store.ensure_user("u1")
    finally:
        await store.close()
    assert time.monotonic() - started < 2  # retrying would not help
    message = str(failure.value)
    assert message.startswith("the database refused the connection") and expected in message
    assert "wrong-pw" not in message and postgres_server.password not in message
