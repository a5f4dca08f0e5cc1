"""Persistence of progress and sessions: SQLAlchemy 2 async over SQLite (default) or PostgreSQL.

Every write is one short transaction, so concurrent answers never lose a result; SQLite runs in WAL
mode with a busy timeout so that writers queue instead of failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, delete, event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bot.study.errors import StudybotError
from bot.study.models import (
    Attempt,
    Feedback,
    GroupMember,
    Material,
    MentionChannel,
    ReviewCard,
    StudySession,
    User,
)

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


class StoreUnavailable(StudybotError):
    """The database cannot be reached or refused the operation."""


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without their time zone; they were stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AttemptRecord:
    user_id: str
    item_id: str
    kind: str
    area: str
    topic: str
    score: float
    correct: bool
    answered_at: datetime
    group_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class SessionRecord:
    id: str
    kind: str
    owner_id: str
    group_id: str | None
    channel_id: str | None
    status: str
    state: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LeaderboardRow:
    user_id: str
    name: str
    points: float
    answered: int
    correct: int


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


class Store:
    """The one gateway to the database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}} if self.is_sqlite else {"pool_pre_ping": True}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._migrated = False

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent; runs once per process)."""
        if self._migrated:
            return
        from alembic import command

        try:
            if self.is_sqlite:
                path = self.url.split(":///", 1)[-1]
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(command.upgrade, alembic_config(self.url), "head")
        except (OSError, SQLAlchemyError) as exc:
            raise StoreUnavailable(f"the database is unavailable ({type(exc).__name__})") from exc
        self._migrated = True

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        await self.migrate()
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except OperationalError as exc:
            log.warning("database operation failed", exc_info=True)
            raise StoreUnavailable(f"the database is unavailable ({exc.orig or exc})") from exc

    def _upsert(self, table: Any) -> Any:
        return sqlite_insert(table) if self.is_sqlite else pg_insert(table)

    # Users and groups
    async def ensure_user(self, user_id: str, name: str = "", group_id: str | None = None) -> None:
        async with self._tx() as s:
            stmt = self._upsert(User).values(id=user_id, name=name[:100], created_at=now())
            if name:
                stmt = stmt.on_conflict_do_update(index_elements=[User.id], set_={"name": name[:100]})
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=[User.id])
            await s.execute(stmt)
            if group_id:
                await s.execute(
                    self._upsert(GroupMember)
                    .values(group_id=group_id, user_id=user_id)
                    .on_conflict_do_nothing(index_elements=[GroupMember.group_id, GroupMember.user_id])
                )

    # Attempts and spaced repetition
    async def record_attempt(
        self, attempt: AttemptRecord, card: dict[str, Any] | None = None, due: datetime | None = None
    ) -> None:
        """Store a graded answer and, atomically with it, the item's new review card."""
        async with self._tx() as s:
            s.add(Attempt(**attempt.__dict__))
            if card is not None and due is not None:
                await s.execute(
                    self._upsert(ReviewCard)
                    .values(user_id=attempt.user_id, item_id=attempt.item_id, card=card, due=due)
                    .on_conflict_do_update(
                        index_elements=[ReviewCard.user_id, ReviewCard.item_id], set_={"card": card, "due": due}
                    )
                )

    async def attempts(self, user_id: str, since: datetime | None = None) -> list[AttemptRecord]:
        async with self._tx() as s:
            stmt = select(Attempt).where(Attempt.user_id == user_id).order_by(Attempt.answered_at, Attempt.id)
            if since is not None:
                stmt = stmt.where(Attempt.answered_at >= since)
            rows = (await s.scalars(stmt)).all()
        return [_attempt(r) for r in rows]

    async def card(self, user_id: str, item_id: str) -> dict[str, Any] | None:
        async with self._tx() as s:
            row = await s.get(ReviewCard, (user_id, item_id))
            return dict(row.card) if row else None

    async def due_items(self, user_id: str, at: datetime | None = None, limit: int = 100) -> list[str]:
        """Items whose review is due, most overdue first."""
        async with self._tx() as s:
            stmt = (
                select(ReviewCard.item_id)
                .where(ReviewCard.user_id == user_id, ReviewCard.due <= (at or now()))
                .order_by(ReviewCard.due)
                .limit(limit)
            )
            return list((await s.scalars(stmt)).all())

    async def reviewed_items(self, user_id: str) -> set[str]:
        async with self._tx() as s:
            return set((await s.scalars(select(ReviewCard.item_id).where(ReviewCard.user_id == user_id))).all())

    # Sessions
    async def save_session(
        self,
        session_id: str,
        kind: str,
        owner_id: str,
        state: dict[str, Any],
        status: str = "active",
        group_id: str | None = None,
        channel_id: str | None = None,
    ) -> None:
        stamp = now()
        values = {
            "id": session_id, "kind": kind, "owner_id": owner_id, "group_id": group_id, "channel_id": channel_id,
            "status": status, "state": state, "created_at": stamp, "updated_at": stamp,
        }  # fmt: skip
        async with self._tx() as s:
            await s.execute(
                self._upsert(StudySession)
                .values(**values)
                .on_conflict_do_update(
                    index_elements=[StudySession.id], set_={"state": state, "status": status, "updated_at": stamp}
                )
            )

    async def load_session(self, session_id: str) -> SessionRecord | None:
        async with self._tx() as s:
            row = await s.get(StudySession, session_id)
            return _session(row) if row else None

    async def sessions(
        self,
        *,
        kind: str | None = None,
        owner_id: str | None = None,
        status: str | None = "active",
        channel_id: str | None = None,
    ) -> list[SessionRecord]:
        async with self._tx() as s:
            stmt = select(StudySession).order_by(StudySession.updated_at.desc())
            for column, value in (
                (StudySession.kind, kind),
                (StudySession.owner_id, owner_id),
                (StudySession.status, status),
                (StudySession.channel_id, channel_id),
            ):
                if value is not None:
                    stmt = stmt.where(column == value)
            return [_session(r) for r in (await s.scalars(stmt)).all()]

    # Feedback on answers
    async def record_feedback(self, user_id: str, question: str, answer: str, helpful: bool) -> None:
        await self.ensure_user(user_id)
        async with self._tx() as s:
            s.add(Feedback(user_id=user_id, question=question, answer=answer, helpful=helpful, created_at=now()))

    # Leaderboards
    async def leaderboard(self, group_id: str, since: datetime | None = None, limit: int = 10) -> list[LeaderboardRow]:
        """Members of a group ranked by points (the sum of their scores) since a moment."""
        async with self._tx() as s:
            points = func.sum(Attempt.score)
            stmt = (
                select(
                    Attempt.user_id,
                    User.name,
                    points,
                    func.count(Attempt.id),
                    func.sum(func.cast(Attempt.correct, Integer())),
                )
                .join(User, User.id == Attempt.user_id)
                .join(GroupMember, (GroupMember.user_id == Attempt.user_id) & (GroupMember.group_id == group_id))
                .group_by(Attempt.user_id, User.name)
                .order_by(points.desc(), func.count(Attempt.id).desc())
                .limit(limit)
            )
            if since is not None:
                stmt = stmt.where(Attempt.answered_at >= since)
            rows = (await s.execute(stmt)).all()
        return [LeaderboardRow(u, n or u, float(p or 0), int(a), int(c or 0)) for u, n, p, a, c in rows]

    # Server settings
    async def set_mention_channel(self, group_id: str, channel_id: str, enabled: bool) -> None:
        async with self._tx() as s:
            if enabled:
                await s.execute(
                    self._upsert(MentionChannel)
                    .values(group_id=group_id, channel_id=channel_id)
                    .on_conflict_do_nothing(index_elements=[MentionChannel.group_id, MentionChannel.channel_id])
                )
            else:
                await s.execute(
                    delete(MentionChannel).where(
                        MentionChannel.group_id == group_id, MentionChannel.channel_id == channel_id
                    )
                )

    async def mention_channels(self, group_id: str) -> set[str]:
        async with self._tx() as s:
            stmt = select(MentionChannel.channel_id).where(MentionChannel.group_id == group_id)
            return set((await s.scalars(stmt)).all())

    async def add_material(self, group_id: str, name: str, source: str, added_by: str, chunks: int) -> None:
        async with self._tx() as s:
            values = {"group_id": group_id, "name": name, "source": source, "added_by": added_by, "chunks": chunks,
                      "added_at": now()}  # fmt: skip
            await s.execute(
                self._upsert(Material)
                .values(**values)
                .on_conflict_do_update(
                    index_elements=[Material.group_id, Material.name],
                    set_={"source": source, "added_by": added_by, "chunks": chunks, "added_at": values["added_at"]},
                )
            )

    async def materials(self, group_id: str) -> list[tuple[str, str, int, datetime]]:
        """(name, added_by, chunks, added_at) of a server's materials, by name."""
        async with self._tx() as s:
            rows = (
                await s.scalars(select(Material).where(Material.group_id == group_id).order_by(Material.name))
            ).all()
        return [(m.name, m.added_by, m.chunks, _aware(m.added_at)) for m in rows]

    async def remove_material(self, group_id: str, name: str) -> str | None:
        """Forget a material; returns its source label (to delete its chunks), or None if unknown."""
        async with self._tx() as s:
            row = await s.get(Material, (group_id, name))
            if row is None:
                return None
            source = row.source
            await s.delete(row)
            return source

    # A user's own data
    async def export_user(self, user_id: str) -> dict[str, Any]:
        async with self._tx() as s:
            user = await s.get(User, user_id)
            attempts = (await s.scalars(select(Attempt).where(Attempt.user_id == user_id))).all()
            cards = (await s.scalars(select(ReviewCard).where(ReviewCard.user_id == user_id))).all()
            sessions = (await s.scalars(select(StudySession).where(StudySession.owner_id == user_id))).all()
            feedback = (await s.scalars(select(Feedback).where(Feedback.user_id == user_id))).all()
            groups = (await s.scalars(select(GroupMember.group_id).where(GroupMember.user_id == user_id))).all()
        return {
            "user": {
                "id": user_id,
                "name": user.name if user else "",
                "created_at": _iso(user.created_at) if user else None,
            },
            "groups": list(groups),
            "attempts": [{**_attempt(a).__dict__, "answered_at": _iso(a.answered_at)} for a in attempts],
            "review_cards": [{"item_id": c.item_id, "due": _iso(c.due), "card": c.card} for c in cards],
            "sessions": [
                {"id": x.id, "kind": x.kind, "status": x.status, "state": x.state, "updated_at": _iso(x.updated_at)}
                for x in sessions
            ],
            "feedback": [
                {"question": f.question, "answer": f.answer, "helpful": f.helpful, "created_at": _iso(f.created_at)}
                for f in feedback
            ],
        }

    async def delete_user(self, user_id: str) -> int:
        """Delete everything stored about a user; returns how many rows went."""
        total = 0
        async with self._tx() as s:
            for model, column in (
                (Attempt, Attempt.user_id),
                (ReviewCard, ReviewCard.user_id),
                (StudySession, StudySession.owner_id),
                (Feedback, Feedback.user_id),
                (GroupMember, GroupMember.user_id),
                (User, User.id),
            ):
                result = await s.execute(delete(model).where(column == user_id))
                total += int(getattr(result, "rowcount", 0) or 0)
        return total

    async def ping(self) -> bool:
        try:
            async with self._tx() as s:
                await s.execute(select(1))
            return True
        except StudybotError:
            return False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _iso(value: datetime) -> str:
    return _aware(value).isoformat()


def _attempt(row: Attempt) -> AttemptRecord:
    return AttemptRecord(
        row.user_id, row.item_id, row.kind, row.area, row.topic, row.score, row.correct,
        _aware(row.answered_at), row.group_id, row.session_id,
    )  # fmt: skip


def _session(row: StudySession) -> SessionRecord:
    return SessionRecord(
        row.id, row.kind, row.owner_id, row.group_id, row.channel_id, row.status, dict(row.state),
        _aware(row.created_at), _aware(row.updated_at),
    )  # fmt: skip


__all__: Sequence[str] = ["AttemptRecord", "LeaderboardRow", "SessionRecord", "Store", "StoreUnavailable"]
