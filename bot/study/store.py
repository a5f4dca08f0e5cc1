"""Persistence of progress and sessions: SQLAlchemy 2 async over SQLite (default) or PostgreSQL.

Every write is one short transaction, so concurrent answers never lose a result; SQLite runs in WAL
mode with a busy timeout so that writers queue instead of failing.

A PostgreSQL server may be briefly unreachable (restarted, failed over, the network dropped): every
operation is one transaction that runs again as a whole, with a short backoff, while the failure is a
connection-level one, for up to ``retry_s`` seconds; then it gives up with ``StoreUnavailable`` and
nothing was written in part. Errors in the request itself (a constraint violation, bad SQL) are never
retried. When a commit reached the server but its acknowledgement was lost, the retry must not apply
it twice: upserts and deletes are idempotent anyway, and the two plain inserts (an attempt, a piece of
feedback) first look for the row the lost commit may have written. What cannot be known: a retried
``delete_user`` or ``remove_material`` whose first commit did land reports nothing deleted, and when
time runs out just as a commit's acknowledgement is lost, the error says nothing was changed.
SQLite is a local file, so nothing is retried there (its busy timeout already makes writers queue).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Integer, delete, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bot.study.errors import StudybotError
from bot.study.models import (
    Attempt,
    Feedback,
    GroupMember,
    Material,
    MentionChannel,
    Reminder,
    ReviewCard,
    ReviewLog,
    StudySession,
    User,
)

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
T = TypeVar("T")

RETRY_FIRST_DELAY_S = 0.1
RETRY_MAX_DELAY_S = 1.0
# PostgreSQL errors after which the same transaction can simply run again.
TRANSIENT_SQLSTATES = {
    "57P01": "the server shut down",
    "57P02": "the server crashed",
    "57P03": "the server is starting up or shutting down",
    "53300": "the server has too many connections",
    "40001": "a conflicting transaction",
    "40P01": "a deadlock",
}
# PostgreSQL error classes that mean the server turned us away: wrong password, no such database.
REFUSED_SQLSTATE_CLASSES = ("28", "3D")


class StoreUnavailable(StudybotError):
    """The database cannot be reached or refused the operation."""


def now() -> datetime:
    return datetime.now(UTC)


def assume_utc(value: datetime) -> datetime:
    """SQLite hands datetimes back without their time zone; they were stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    """Every time goes in as UTC: SQLite would keep the wall-clock time and drop any other offset."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


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
class ReviewRecord:
    """One spaced-repetition review (``rating`` is fsrs's 1-4; ``review_duration`` in milliseconds)."""

    user_id: str
    item_id: str
    kind: str  # quiz | review | flashcard
    rating: int
    reviewed_at: datetime
    review_duration: int | None = None


@dataclass(frozen=True)
class ReminderRecord:
    user_id: str
    channel_id: str | None  # None: a direct message
    group_id: str | None
    hour: int  # UTC
    last_sent: str | None = None  # ISO date


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


def alembic_config(url: str, connect_args: dict[str, Any] | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    cfg.attributes["connect_args"] = connect_args or {}
    return cfg


class Store:
    """The one gateway to the database."""

    def __init__(self, url: str, retry_s: float = 15.0) -> None:
        self.url = url
        self.retry_s = retry_s
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = create_async_engine(url, **self._engine_options())
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._migrated = False
        self._migrate_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._upgrading: asyncio.Future[None] | None = None  # the migration under way, if any
        self._outage: str | None = None  # why the database was last unreachable, until it answers again

    def _engine_options(self) -> dict[str, Any]:
        if self.is_sqlite:
            return {"connect_args": {"timeout": 30}}
        # A pooled connection that died with the server is replaced before use, not handed out.
        connect_timeout = min(10.0, max(1.0, self.retry_s))
        return {"pool_pre_ping": True, "connect_args": {"timeout": connect_timeout}}

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent; runs once per process)."""
        await self._retrying(self._ensure_migrated, self.retry_s)

    async def _ensure_migrated(self) -> None:
        if self._migrated:
            return
        async with self._migrate_lock():  # concurrent first calls must not run the migrations twice
            if self._migrated:
                return
            upgrading = self._upgrading
            if upgrading is None or upgrading.done() or upgrading.get_loop() is not asyncio.get_running_loop():
                upgrading = self._upgrading = asyncio.ensure_future(self._upgrade())
            # Shielded: a caller that gives up (a health check's timeout) leaves the upgrade running,
            # and the next caller waits for that one instead of starting a second.
            await asyncio.shield(upgrading)

    async def _upgrade(self) -> None:
        from alembic import command

        if self.is_sqlite:
            path = self.url.split(":///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            connect_args = self._engine_options()["connect_args"]
            await asyncio.to_thread(command.upgrade, alembic_config(self.url, connect_args), "head")
        except SQLAlchemyError as exc:
            if _non_transient(exc) is not exc or self._transient_reason(exc):
                raise  # retried, or reported like the same failure of any other operation
            reason = _first_line(getattr(exc, "orig", None) or exc)
            raise StoreUnavailable(f"the database schema could not be migrated ({reason})") from exc
        self._migrated = True

    def _migrate_lock(self) -> asyncio.Lock:
        """One lock per event loop: the CLI may use the same store from several ``asyncio.run`` calls."""
        loop = asyncio.get_running_loop()
        if loop not in self._migrate_locks:
            self._migrate_locks = {loop: asyncio.Lock()}
        return self._migrate_locks[loop]

    async def close(self) -> None:
        await self.engine.dispose()

    async def _run(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, retry: bool = True, migrate: bool = True
    ) -> T:
        """Run ``work`` in one transaction, again from the start while the database is unreachable."""

        async def once() -> T:
            if migrate:
                await self._ensure_migrated()
            async with self._sessions() as session, session.begin():
                return await work(session)

        return await self._retrying(once, self.retry_s if retry else 0.0)

    async def _retrying(self, once: Callable[[], Awaitable[T]], retry_s: float) -> T:
        loop = asyncio.get_running_loop()
        started = loop.time()
        delay = RETRY_FIRST_DELAY_S
        while True:
            try:
                result = await once()
            except StudybotError:
                raise
            except Exception as exc:
                reason = self._transient_reason(exc)
                if reason is None:
                    error = _non_transient(exc)
                    if error is exc:
                        raise
                    raise error from exc
                left = retry_s - (loop.time() - started)
                if left <= 0:
                    raise StoreUnavailable(_unreachable_message(reason, retry_s)) from exc
                self._note_outage(reason, retry_s)
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, RETRY_MAX_DELAY_S)
            else:
                self._note_recovery()
                return result

    def _transient_reason(self, exc: BaseException) -> str | None:
        return None if self.is_sqlite else _transient_reason(exc)

    def _note_outage(self, reason: str, retry_s: float) -> None:
        if self._outage is None:
            log.warning("database unreachable (%s); retrying for up to %.1f s", reason, retry_s)
        self._outage = reason

    def _note_recovery(self) -> None:
        if self._outage is not None:
            log.warning("database reachable again")
            self._outage = None

    def _upsert(self, table: Any) -> Any:
        return sqlite_insert(table) if self.is_sqlite else pg_insert(table)

    # Users and groups
    async def ensure_user(self, user_id: str, name: str = "", group_id: str | None = None) -> None:
        stmt = self._upsert(User).values(id=user_id, name=name[:100], created_at=now())
        if name:
            stmt = stmt.on_conflict_do_update(index_elements=[User.id], set_={"name": name[:100]})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=[User.id])

        async def work(s: AsyncSession) -> None:
            await s.execute(stmt)
            if group_id:
                await s.execute(
                    self._upsert(GroupMember)
                    .values(group_id=group_id, user_id=user_id)
                    .on_conflict_do_nothing(index_elements=[GroupMember.group_id, GroupMember.user_id])
                )

        await self._run(work)

    # Attempts and spaced repetition
    async def record_attempt(
        self,
        attempt: AttemptRecord,
        card: dict[str, Any] | None = None,
        due: datetime | None = None,
        review: ReviewRecord | None = None,
    ) -> None:
        """Store a graded answer and, atomically with it, the item's new review card and its review
        log (exactly once)."""
        attempt = replace(attempt, answered_at=_utc(attempt.answered_at))

        async def write(s: AsyncSession) -> None:
            s.add(Attempt(**attempt.__dict__))
            if card is not None and due is not None:
                await self._put_card(s, attempt.user_id, attempt.item_id, card, due)
            if review is not None:
                s.add(ReviewLog(**replace(review, reviewed_at=_utc(review.reviewed_at)).__dict__))

        await self._run(_once(lambda s: _attempt_exists(s, attempt), write))

    async def record_review(self, review: ReviewRecord, card: dict[str, Any], due: datetime) -> None:
        """Store a review that is not a graded answer (a flashcard): its log and the item's new card."""
        review = replace(review, reviewed_at=_utc(review.reviewed_at))

        async def write(s: AsyncSession) -> None:
            s.add(ReviewLog(**review.__dict__))
            await self._put_card(s, review.user_id, review.item_id, card, due)

        await self._run(_once(lambda s: _review_exists(s, review), write))

    async def _put_card(self, s: AsyncSession, user_id: str, item_id: str, card: dict[str, Any], due: datetime) -> None:
        due = _utc(due)
        await s.execute(
            self._upsert(ReviewCard)
            .values(user_id=user_id, item_id=item_id, card=card, due=due)
            .on_conflict_do_update(
                index_elements=[ReviewCard.user_id, ReviewCard.item_id], set_={"card": card, "due": due}
            )
        )

    async def review_logs(self, user_id: str, since: datetime | None = None) -> list[ReviewRecord]:
        stmt = select(ReviewLog).where(ReviewLog.user_id == user_id).order_by(ReviewLog.reviewed_at, ReviewLog.id)
        if since is not None:
            stmt = stmt.where(ReviewLog.reviewed_at >= _utc(since))
        return [_review(r) for r in await self._run(lambda s: _all(s, stmt))]

    async def schedule(self, user_id: str) -> dict[str, datetime]:
        """Item id -> when its next review is due, for every item the learner has reviewed."""
        stmt = select(ReviewCard.item_id, ReviewCard.due).where(ReviewCard.user_id == user_id)
        rows = await self._run(lambda s: s.execute(stmt))
        return {item_id: _utc(due) for item_id, due in rows}

    async def attempts(self, user_id: str, since: datetime | None = None) -> list[AttemptRecord]:
        stmt = select(Attempt).where(Attempt.user_id == user_id).order_by(Attempt.answered_at, Attempt.id)
        if since is not None:
            stmt = stmt.where(Attempt.answered_at >= _utc(since))
        rows = await self._run(lambda s: _all(s, stmt))
        return [_attempt(r) for r in rows]

    async def card(self, user_id: str, item_id: str) -> dict[str, Any] | None:
        row = await self._run(lambda s: s.get(ReviewCard, (user_id, item_id)))
        return dict(row.card) if row else None

    async def due_items(self, user_id: str, at: datetime | None = None, limit: int = 100) -> list[str]:
        """Items whose review is due, most overdue first."""
        stmt = (
            select(ReviewCard.item_id)
            .where(ReviewCard.user_id == user_id, ReviewCard.due <= _utc(at or now()))
            .order_by(ReviewCard.due)
            .limit(limit)
        )
        return list(await self._run(lambda s: _all(s, stmt)))

    async def reviewed_items(self, user_id: str) -> set[str]:
        stmt = select(ReviewCard.item_id).where(ReviewCard.user_id == user_id)
        return set(await self._run(lambda s: _all(s, stmt)))

    # Daily reminders
    async def set_reminder(self, reminder: ReminderRecord | None, user_id: str) -> None:
        """Turn a learner's daily reminder on (``reminder``) or off (None)."""

        async def work(s: AsyncSession) -> None:
            if reminder is None:
                await s.execute(delete(Reminder).where(Reminder.user_id == user_id))
                return
            values = {"channel_id": reminder.channel_id, "group_id": reminder.group_id, "hour": reminder.hour}
            await s.execute(
                self._upsert(Reminder)
                .values(user_id=user_id, last_sent=reminder.last_sent, **values)
                .on_conflict_do_update(index_elements=[Reminder.user_id], set_=values)
            )

        await self._run(work)

    async def reminder(self, user_id: str) -> ReminderRecord | None:
        row = await self._run(lambda s: s.get(Reminder, user_id))
        return _reminder(row) if row else None

    async def reminders_to_send(self, at: datetime) -> list[ReminderRecord]:
        """Reminders whose hour has come today (UTC) and that were not sent today."""
        at = _utc(at)
        stmt = select(Reminder).where(Reminder.hour <= at.hour)
        rows = await self._run(lambda s: _all(s, stmt))
        today = at.date().isoformat()
        return [_reminder(r) for r in rows if r.last_sent != today]

    async def reminder_sent(self, user_id: str, day: str) -> None:
        stmt = update(Reminder).where(Reminder.user_id == user_id).values(last_sent=day)
        await self._run(lambda s: s.execute(stmt))

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
        stmt = (
            self._upsert(StudySession)
            .values(**values)
            .on_conflict_do_update(
                index_elements=[StudySession.id], set_={"state": state, "status": status, "updated_at": stamp}
            )
        )
        await self._run(lambda s: s.execute(stmt))

    async def load_session(self, session_id: str) -> SessionRecord | None:
        row = await self._run(lambda s: s.get(StudySession, session_id))
        return _session(row) if row else None

    async def sessions(
        self,
        *,
        kind: str | None = None,
        owner_id: str | None = None,
        status: str | None = "active",
        channel_id: str | None = None,
    ) -> list[SessionRecord]:
        stmt = select(StudySession).order_by(StudySession.updated_at.desc())
        for column, value in (
            (StudySession.kind, kind),
            (StudySession.owner_id, owner_id),
            (StudySession.status, status),
            (StudySession.channel_id, channel_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        return [_session(r) for r in await self._run(lambda s: _all(s, stmt))]

    async def count_active_sessions(self, since: datetime) -> dict[str, int]:
        """Active sessions touched since ``since``, by kind (for /metrics: no session is loaded)."""
        stmt = (
            select(StudySession.kind, func.count())
            .where(StudySession.status == "active", StudySession.updated_at >= _utc(since))
            .group_by(StudySession.kind)
        )

        async def work(s: AsyncSession) -> dict[str, int]:
            return {str(kind): int(n) for kind, n in (await s.execute(stmt)).all()}

        return await self._run(work, retry=False)

    # Feedback on answers
    async def record_feedback(self, user_id: str, question: str, answer: str, helpful: bool) -> None:
        await self.ensure_user(user_id)
        row = {"user_id": user_id, "question": question, "answer": answer, "helpful": helpful, "created_at": now()}

        async def write(s: AsyncSession) -> None:
            s.add(Feedback(**row))

        await self._run(_once(lambda s: _feedback_exists(s, row), write))

    # Leaderboards
    async def leaderboard(self, group_id: str, since: datetime | None = None, limit: int = 10) -> list[LeaderboardRow]:
        """Members of a group ranked by points (the sum of their scores) since a moment."""
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
            stmt = stmt.where(Attempt.answered_at >= _utc(since))

        async def work(s: AsyncSession) -> Sequence[Any]:
            rows: Sequence[Any] = (await s.execute(stmt)).all()
            return rows

        rows = await self._run(work)
        return [LeaderboardRow(u, n or u, float(p or 0), int(a), int(c or 0)) for u, n, p, a, c in rows]

    # Server settings
    async def set_mention_channel(self, group_id: str, channel_id: str, enabled: bool) -> None:
        stmt: Any
        if enabled:
            stmt = (
                self._upsert(MentionChannel)
                .values(group_id=group_id, channel_id=channel_id)
                .on_conflict_do_nothing(index_elements=[MentionChannel.group_id, MentionChannel.channel_id])
            )
        else:
            stmt = delete(MentionChannel).where(
                MentionChannel.group_id == group_id, MentionChannel.channel_id == channel_id
            )
        await self._run(lambda s: s.execute(stmt))

    async def mention_channels(self, group_id: str) -> set[str]:
        stmt = select(MentionChannel.channel_id).where(MentionChannel.group_id == group_id)
        return set(await self._run(lambda s: _all(s, stmt)))

    async def add_material(self, group_id: str, name: str, source: str, added_by: str, chunks: int) -> None:
        values = {"group_id": group_id, "name": name, "source": source, "added_by": added_by, "chunks": chunks,
                  "added_at": now()}  # fmt: skip
        stmt = (
            self._upsert(Material)
            .values(**values)
            .on_conflict_do_update(
                index_elements=[Material.group_id, Material.name],
                set_={"source": source, "added_by": added_by, "chunks": chunks, "added_at": values["added_at"]},
            )
        )
        await self._run(lambda s: s.execute(stmt))

    async def materials(self, group_id: str) -> list[tuple[str, str, int, datetime]]:
        """(name, added_by, chunks, added_at) of a server's materials, by name."""
        stmt = select(Material).where(Material.group_id == group_id).order_by(Material.name)
        rows = await self._run(lambda s: _all(s, stmt))
        return [(m.name, m.added_by, m.chunks, assume_utc(m.added_at)) for m in rows]

    async def remove_material(self, group_id: str, name: str) -> str | None:
        """Forget a material; returns its source label (to delete its chunks), or None if unknown."""

        async def work(s: AsyncSession) -> str | None:
            row = await s.get(Material, (group_id, name))
            if row is None:
                return None
            source = row.source
            await s.delete(row)
            return source

        return await self._run(work)

    # A user's own data
    async def export_user(self, user_id: str) -> dict[str, Any]:
        async def work(s: AsyncSession) -> tuple[User | None, list[Sequence[Any]]]:
            user = await s.get(User, user_id)
            lists = [
                await _all(s, select(Attempt).where(Attempt.user_id == user_id)),
                await _all(s, select(ReviewCard).where(ReviewCard.user_id == user_id)),
                await _all(s, select(StudySession).where(StudySession.owner_id == user_id)),
                await _all(s, select(Feedback).where(Feedback.user_id == user_id)),
                await _all(s, select(GroupMember.group_id).where(GroupMember.user_id == user_id)),
                await _all(s, select(ReviewLog).where(ReviewLog.user_id == user_id).order_by(ReviewLog.id)),
            ]
            return user, lists

        user, (attempts, cards, sessions, feedback, groups, reviews) = await self._run(work)
        reminder = await self.reminder(user_id)
        return {
            "reminder": reminder.__dict__ if reminder else None,
            "user": {
                "id": user_id,
                "name": user.name if user else "",
                "created_at": _iso(user.created_at) if user else None,
            },
            "groups": list(groups),
            "attempts": [{**_attempt(a).__dict__, "answered_at": _iso(a.answered_at)} for a in attempts],
            "review_cards": [{"item_id": c.item_id, "due": _iso(c.due), "card": c.card} for c in cards],
            "reviews": [{**_review(r).__dict__, "reviewed_at": _iso(r.reviewed_at)} for r in reviews],
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

        async def work(s: AsyncSession) -> int:
            total = 0
            for model, column in (
                (Attempt, Attempt.user_id),
                (ReviewCard, ReviewCard.user_id),
                (ReviewLog, ReviewLog.user_id),
                (Reminder, Reminder.user_id),
                (StudySession, StudySession.owner_id),
                (Feedback, Feedback.user_id),
                (GroupMember, GroupMember.user_id),
                (User, User.id),
            ):
                result = await s.execute(delete(model).where(column == user_id))
                total += int(getattr(result, "rowcount", 0) or 0)
            return total

        return await self._run(work)

    async def ping(self) -> bool:
        """Whether the database answers now (one try, no retries: health checks want the present state)."""
        try:
            await self._run(lambda s: s.execute(select(1)), retry=False, migrate=False)  # needs no schema
            return True
        except StudybotError:
            return False


async def _all(s: AsyncSession, stmt: Any) -> Sequence[Any]:
    return (await s.scalars(stmt)).all()


def _once(
    exists: Callable[[AsyncSession], Awaitable[bool]], write: Callable[[AsyncSession], Awaitable[None]]
) -> Callable[[AsyncSession], Awaitable[None]]:
    """A transaction body for a plain insert, which is not idempotent: from the second try on, it
    writes only if ``exists`` finds no row from an earlier try that committed but whose
    acknowledgement was lost on the way back."""
    tries = 0

    async def work(s: AsyncSession) -> None:
        nonlocal tries
        tries += 1
        if tries > 1 and await exists(s):
            return
        await write(s)

    return work


async def _attempt_exists(s: AsyncSession, attempt: AttemptRecord) -> bool:
    """Whether this very attempt (same user, item, session and answer time) is stored already."""
    stmt = select(Attempt.id).where(
        Attempt.user_id == attempt.user_id,
        Attempt.item_id == attempt.item_id,
        Attempt.kind == attempt.kind,
        Attempt.session_id == attempt.session_id,
        Attempt.answered_at == attempt.answered_at,
    )
    return (await s.scalars(stmt.limit(1))).first() is not None


async def _review_exists(s: AsyncSession, review: ReviewRecord) -> bool:
    stmt = select(ReviewLog.id).where(
        ReviewLog.user_id == review.user_id,
        ReviewLog.item_id == review.item_id,
        ReviewLog.reviewed_at == review.reviewed_at,
    )
    return (await s.scalars(stmt.limit(1))).first() is not None


async def _feedback_exists(s: AsyncSession, row: dict[str, Any]) -> bool:
    stmt = select(Feedback.id).where(
        Feedback.user_id == row["user_id"],
        Feedback.created_at == row["created_at"],
        Feedback.question == row["question"],
    )
    return (await s.scalars(stmt.limit(1))).first() is not None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The error, then what it wraps: SQLAlchemy's ``orig`` (the driver's error) and ``raise ... from`` causes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def _transient_reason(exc: BaseException) -> str | None:
    """Why the connection (not the request) failed, in a few words, or None when retrying cannot help."""
    invalidated = False
    for cause in _causes(exc):
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and state in TRANSIENT_SQLSTATES:
            return TRANSIENT_SQLSTATES[state]
        if isinstance(state, str) and state.startswith("08"):
            return "the connection failed"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, TimeoutError):
            return "no answer in time"
        if isinstance(cause, OSError):
            return "network error"
        invalidated = invalidated or (isinstance(cause, DBAPIError) and cause.connection_invalidated)
    return "the connection was lost" if invalidated else None


def _non_transient(exc: Exception) -> Exception:
    """A failure retrying cannot fix: the server turning us away or the database being unusable become
    ``StoreUnavailable``; errors in the request itself (constraint violations...) stay as they are."""
    for cause in _causes(exc):
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and state[:2] in REFUSED_SQLSTATE_CLASSES:
            return StoreUnavailable(f"the database refused the connection ({_first_line(cause)})")
    if isinstance(exc, OperationalError):
        return StoreUnavailable(f"the database is unavailable ({_first_line(exc.orig or exc)})")
    if isinstance(exc, OSError):
        return StoreUnavailable(f"the database is unavailable ({type(exc).__name__}: {exc.strerror or exc})")
    return exc


def _unreachable_message(reason: str, retry_s: float) -> str:
    waited = f" and did not come back within {retry_s:g} s" if retry_s > 0 else ""
    return f"the database is unreachable ({reason}){waited}; nothing was changed, please try again shortly"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _iso(value: datetime) -> str:
    return assume_utc(value).isoformat()


def _attempt(row: Attempt) -> AttemptRecord:
    return AttemptRecord(
        row.user_id, row.item_id, row.kind, row.area, row.topic, row.score, row.correct,
        assume_utc(row.answered_at), row.group_id, row.session_id,
    )  # fmt: skip


def _review(row: ReviewLog) -> ReviewRecord:
    return ReviewRecord(row.user_id, row.item_id, row.kind, row.rating, _utc(row.reviewed_at), row.review_duration)


def _reminder(row: Reminder) -> ReminderRecord:
    return ReminderRecord(row.user_id, row.channel_id, row.group_id, row.hour, row.last_sent)


def _session(row: StudySession) -> SessionRecord:
    return SessionRecord(
        row.id, row.kind, row.owner_id, row.group_id, row.channel_id, row.status, dict(row.state),
        assume_utc(row.created_at), assume_utc(row.updated_at),
    )  # fmt: skip


__all__: Sequence[str] = ["AttemptRecord", "LeaderboardRow", "SessionRecord", "Store", "StoreUnavailable"]
