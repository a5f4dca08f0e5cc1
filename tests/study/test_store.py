"""The database layer: migrations, sessions, attempts under concurrency, export and deletion."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.study.store import AttemptRecord, Store


def _attempt(user: str, item: str, score: float = 1.0, group: str | None = "g1", **kw: object) -> AttemptRecord:
    values: dict[str, object] = {
        "user_id": user, "item_id": item, "kind": "quiz", "area": "math", "topic": "probability",
        "score": score, "correct": score >= 1.0, "answered_at": datetime.now(UTC), "group_id": group,
    }  # fmt: skip
    values.update(kw)
    return AttemptRecord(**values)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite+aiosqlite:///{tmp_path}/studybot.db")
    await s.migrate()
    yield s  # type: ignore[misc]
    await s.close()


async def test_migrations_create_the_schema_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/m.db"
    for _ in range(2):  # a second run is a no-op
        s = Store(url)
        await s.migrate()
        await s.close()
    tables = {r[0] for r in sqlite3.connect(tmp_path / "m.db").execute("select name from sqlite_master")}
    assert {"users", "attempts", "review_cards", "sessions", "answer_feedback", "alembic_version"} <= tables


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


async def test_unreachable_database_is_a_typed_error(tmp_path: Path) -> None:
    from bot.study.store import StoreUnavailable

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = Store(f"sqlite+aiosqlite:///{blocker}/sub/x.db".replace("/sub", ""))
    with pytest.raises(StoreUnavailable):
        await store.ensure_user("u1")
