"""The database layer: migrations, sessions, attempts under concurrency, export and deletion."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError

from bot.study.store import AttemptRecord, Store, alembic_config


def _attempt(user: str, item: str, score: float = 1.0, group: str | None = "g1", **kw: object) -> AttemptRecord:
    values: dict[str, object] = {
        "user_id": user, "item_id": item, "kind": "quiz", "area": "math", "topic": "probability",
        "score": score, "correct": score >= 1.0, "answered_at": datetime.now(UTC), "group_id": group,
    }  # fmt: skip
    values.update(kw)
    return AttemptRecord(**values)  # type: ignore[arg-type]


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A migrated store over SQLite, then over PostgreSQL (the ``store_url`` params)."""
    s = Store(store_url)
    await s.migrate()
    yield s
    await s.close()


def _schema(conn: sa.Connection) -> tuple[set[str], dict[str, Any], list[str]]:
    inspector = sa.inspect(conn)
    types = {
        f"{table}.{column['name']}": column["type"]
        for table in ("attempts", "review_cards", "sessions", "answer_feedback")
        for column in inspector.get_columns(table)
    }
    versions = [row[0] for row in conn.execute(sa.text("select version_num from alembic_version"))]
    return set(inspector.get_table_names()), types, versions


async def test_migrations_create_the_schema_once(store_url: str) -> None:
    for _ in range(2):  # a second run is a no-op
        s = Store(store_url)
        await s.migrate()
        await s.close()
    s = Store(store_url)
    async with s.engine.connect() as conn:
        tables, types, versions = await conn.run_sync(_schema)
    await s.close()
    expected = {"users", "group_members", "attempts", "review_cards", "sessions", "answer_feedback"}
    assert expected | {"mention_channels", "materials", "alembic_version"} <= tables
    assert versions == [ScriptDirectory.from_config(alembic_config(store_url)).get_current_head()]
    assert isinstance(types["attempts.correct"], sa.Boolean) and isinstance(
        types["answer_feedback.helpful"], sa.Boolean
    )
    assert isinstance(types["review_cards.card"], sa.JSON) and isinstance(types["sessions.state"], sa.JSON)
    for column in ("attempts.answered_at", "review_cards.due", "sessions.updated_at"):
        assert isinstance(types[column], sa.DateTime)
        if store_url.startswith("postgresql"):  # SQLite has no time zone type; the store adds UTC on reading
            assert types[column].timezone, column


async def test_first_use_by_many_tasks_at_once_migrates_once(store_url: str) -> None:
    s = Store(store_url)  # not migrated yet: every call below wants the schema first
    try:
        await asyncio.gather(*(s.ensure_user(f"u{i}", f"User {i}", "g1") for i in range(6)))
        assert [len(await s.attempts(f"u{i}")) for i in range(6)] == [0] * 6
        assert len(await s.leaderboard("g1")) == 0
    finally:
        await s.close()


async def test_sessions_round_trip_and_filter(store: Store) -> None:
    await store.ensure_user("u1", "Ada")
    await store.save_session("s1", "quiz", "u1", {"index": 0}, channel_id="c9")
    await store.save_session("s1", "quiz", "u1", {"index": 3})
    record = await store.load_session("s1")
    assert record is not None and record.state == {"index": 3} and record.channel_id == "c9"
    assert record.updated_at.tzinfo is not None
    await store.save_session("s2", "interview", "u1", {}, status="finished")
    assert [r.id for r in await store.sessions(owner_id="u1")] == ["s1"]
    assert [r.id for r in await store.sessions(kind="interview", status="finished")] == ["s2"]
    assert await store.load_session("nope") is None
    await store.save_session("s3", "interview", "u1", {})
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert await store.count_active_sessions(since=hour_ago) == {"quiz": 1, "interview": 1}  # s2 is finished
    assert await store.count_active_sessions(since=datetime.now(UTC) + timedelta(seconds=1)) == {}


async def test_concurrent_answers_never_lose_a_result(store: Store) -> None:
    users = [f"u{i}" for i in range(8)]
    for u in users:
        await store.ensure_user(u, u.upper(), "g1")

    async def hammer(user: str, n: int) -> None:
        for i in range(n):
            card = {"card_id": i, "state": 1}
            await store.record_attempt(_attempt(user, f"item-{i % 5}"), card=card, due=datetime.now(UTC))

    await asyncio.gather(*(hammer(u, 25) for u in users for _ in range(2)))
    for u in users:
        assert len(await store.attempts(u)) == 50
        assert len(await store.reviewed_items(u)) == 5
    board = await store.leaderboard("g1")
    assert len(board) == 8 and all(row.answered == 50 and row.points == 50 for row in board)


async def test_due_items_most_overdue_first(store: Store) -> None:
    await store.ensure_user("u1")
    base = datetime.now(UTC)
    for item, hours in (("a", -1), ("b", -5), ("c", 5)):
        await store.record_attempt(_attempt("u1", item), card={"x": 1}, due=base + timedelta(hours=hours))
    assert await store.due_items("u1") == ["b", "a"]
    assert await store.due_items("u1", at=base + timedelta(hours=6)) == ["b", "a", "c"]


async def test_leaderboard_is_per_group_and_ranked(store: Store) -> None:
    await store.ensure_user("a", "Ada", "g1")
    await store.ensure_user("b", "Bo", "g1")
    await store.ensure_user("c", "Cy", "g2")
    for user, scores in (("a", [1, 1, 0]), ("b", [1, 1, 1]), ("c", [1, 1, 1, 1])):
        for i, s in enumerate(scores):
            await store.record_attempt(_attempt(user, f"i{i}", float(s)))
    board = await store.leaderboard("g1")
    assert [(r.name, r.points, r.correct) for r in board] == [("Bo", 3.0, 3), ("Ada", 2.0, 2)]


async def test_export_then_delete_everything_about_a_user(store: Store) -> None:
    await store.ensure_user("u1", "Ada", "g1")
    await store.ensure_user("u2", "Bo", "g1")
    await store.record_attempt(_attempt("u1", "i1"), card={"c": 1}, due=datetime.now(UTC))
    await store.record_attempt(_attempt("u2", "i1"))
    await store.save_session("s1", "quiz", "u1", {"k": 1})
    await store.record_feedback("u1", "what is x", "x is y", helpful=True)
    data = await store.export_user("u1")
    assert data["user"]["name"] == "Ada" and data["groups"] == ["g1"]
    assert len(data["attempts"]) == 1 and len(data["review_cards"]) == 1
    assert len(data["sessions"]) == 1 and data["feedback"][0]["helpful"] is True
    removed = await store.delete_user("u1")
    assert removed == 6
    empty = await store.export_user("u1")
    assert empty["attempts"] == [] and empty["sessions"] == [] and empty["user"]["name"] == ""
    assert len(await store.attempts("u2")) == 1  # nobody else's data is touched


async def test_times_round_trip_in_utc_and_json_keeps_its_types(store: Store) -> None:
    await store.ensure_user("u1")
    answered = datetime(2026, 3, 1, 23, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    card = {"state": 2, "stability": 3.25, "last_review": "2026-03-02T04:30:15+00:00", "tags": ["a", None]}
    await store.record_attempt(_attempt("u1", "i1", 0.5, answered_at=answered), card=card, due=answered)
    [stored] = await store.attempts("u1")
    assert stored.answered_at == answered and stored.answered_at.utcoffset() == timedelta(0)
    assert stored.correct is False and stored.score == 0.5
    assert await store.card("u1", "i1") == card
    assert await store.due_items("u1", at=answered - timedelta(microseconds=1)) == []
    assert await store.due_items("u1", at=answered) == ["i1"]
    assert [a.item_id for a in await store.attempts("u1", since=answered + timedelta(microseconds=1))] == []


async def test_a_constraint_violation_is_not_retried(store: Store) -> None:
    """An attempt by an unknown user breaks a foreign key: retrying cannot help, so it fails at once."""
    assert store.retry_s >= 10
    started = time.monotonic()
    with pytest.raises(IntegrityError):
        await store.record_attempt(_attempt("nobody", "i1"))
    assert time.monotonic() - started < 2
    assert await store.attempts("nobody") == []


async def test_unreachable_database_is_a_typed_error(tmp_path: Path) -> None:
    from bot.study.store import StoreUnavailable

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = Store(f"sqlite+aiosqlite:///{blocker}/sub/x.db".replace("/sub", ""))
    with pytest.raises(StoreUnavailable):
        await store.ensure_user("u1")
