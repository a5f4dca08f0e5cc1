"""The database schema (SQLAlchemy 2 declarative). Migrations in ``migrations/`` create it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    """A learner: ``cli:<name>`` in the terminal, ``discord:<id>`` in Discord."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GroupMember(Base):
    """Who studies in which group (a Discord guild id, or ``local``), for leaderboards."""

    __tablename__ = "group_members"
    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class Attempt(Base):
    """One graded answer: a quiz item, a review, or an interview question."""

    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[str | None] = mapped_column(String(64), index=True)
    session_id: Mapped[str | None] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # quiz | review | interview
    area: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    __table_args__ = (Index("ix_attempts_user_item", "user_id", "item_id"),)


class ReviewCard(Base):
    """The spaced-repetition state (an fsrs Card as a dict) of one item for one user."""

    __tablename__ = "review_cards"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    card: Mapped[dict[str, object]] = mapped_column(JSON)
    due: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ReviewLog(Base):
    """One spaced-repetition review: which rating it earned and how long it took (fsrs's optimizer
    fits a learner's own parameters from these, ``review_duration`` included)."""

    __tablename__ = "review_logs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # quiz | review | flashcard
    rating: Mapped[int] = mapped_column(Integer)  # fsrs Rating: 1 again, 2 hard, 3 good, 4 easy
    reviewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    review_duration: Mapped[int | None] = mapped_column(Integer)  # milliseconds, None when unknown


class Reminder(Base):
    """A learner's opt-in daily reminder: one message a day, from ``hour`` (UTC), when reviews are due."""

    __tablename__ = "reminders"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[str | None] = mapped_column(String(64))  # None: a direct message
    group_id: Mapped[str | None] = mapped_column(String(64))
    hour: Mapped[int] = mapped_column(Integer)  # 0-23, UTC
    last_sent: Mapped[str | None] = mapped_column(String(10))  # ISO date of the last reminder sent


class StudySession(Base):
    """A quiz or interview in progress (or finished), saved after every step so it survives a restart."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # quiz | interview
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[str | None] = mapped_column(String(64))
    channel_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | finished | abandoned
    state: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Feedback(Base):
    """A learner's verdict on an answer (helpful or not), kept for later evaluation."""

    __tablename__ = "answer_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MentionChannel(Base):
    """A channel where the bot answers @mention questions (admins choose them per server)."""

    __tablename__ = "mention_channels"
    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class Material(Base):
    """Study material an admin uploaded for one server, and where its chunks live."""

    __tablename__ = "materials"
    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    added_by: Mapped[str] = mapped_column(String(64))
    chunks: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
