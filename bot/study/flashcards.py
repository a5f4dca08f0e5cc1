"""Flashcards: the answer cards studied the Anki way, scheduled by fsrs.

A card shows its question; the learner thinks, asks for the answer, and rates how well they knew it:
Again, Hard, Good or Easy. fsrs turns the rating into the card's next due date. Flashcards share the
learner's one schedule with quiz items (the ``review_cards`` table: card ids and quiz item ids never
collide), and every rating is logged with how long the card was in front of the learner, which is
what fsrs's optimizer needs to fit a learner's own parameters later.

A session takes the cards that are due first (most overdue first), then new cards: from the topic or
area asked for, else from the learner's weakest tried topics, in the order the cards are written
(basics first). Sessions are plain data saved after every step, like quizzes, so they survive a
restart and can be paused and carried on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler

if TYPE_CHECKING:
    from fsrs.card import CardDict

from bot.study.banks import Card, TopicList
from bot.study.errors import InvalidAnswer, InvalidSessionOptions, NoFlashcards, SessionFinished, SessionNotFound
from bot.study.progress import topic_mastery
from bot.study.store import ReviewRecord, Store

MAX_COUNT = 50
DEFAULT_COUNT = 10
# A card left on screen longer than this (a break, a closed laptop) has no meaningful duration.
LONGEST_REVIEW = timedelta(minutes=30)
RATINGS: dict[str, Rating] = {"again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good, "easy": Rating.Easy}


def parse_rating(raw: str) -> Rating:
    """'again' / 'a' / '1' ... 'easy' / 'e' / '4' -> a Rating; InvalidAnswer otherwise."""
    text = raw.strip().lower()
    for number, (name, rating) in enumerate(RATINGS.items(), start=1):
        if text in (name, name[0], str(number)):
            return rating
    raise InvalidAnswer("Rate the card: again (1), hard (2), good (3) or easy (4).")


def rating_name(rating: Rating | int) -> str:
    return Rating(rating).name.capitalize()


def interval_text(delta: timedelta) -> str:
    """A short human interval: '1m', '10m', '5h', '3d', '2mo', '1.5y'."""
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes / 60
    if hours < 24:
        return f"{round(hours)}h"
    days = hours / 24
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{round(days / 30)}mo"
    return f"{days / 365:.1f}".rstrip("0").rstrip(".") + "y"


def due_phrase(due: datetime, at: datetime | None = None) -> str:
    """'now' for a due date passed, else 'in 3d'."""
    at = at or datetime.now(UTC)
    return "now" if due <= at else f"in {interval_text(due - at)}"


@dataclass(frozen=True)
class Flashcard:
    """A card as a learner studies it."""

    id: str
    question: str
    answer: str
    topic: str  # the topic's title
    source: str  # "Note title > Section"
    reason: str  # "due" (a review) or "new"


@dataclass
class FlashcardSession:
    id: str
    owner_id: str
    card_ids: list[str]
    reasons: dict[str, str] = field(default_factory=dict)  # card id -> "due" | "new"
    ratings: list[int | None] = field(default_factory=list)
    index: int = 0
    revealed: bool = False
    shown_at: str | None = None  # ISO time the current card was put in front of the learner
    finished: bool = False
    group_id: str | None = None
    channel_id: str | None = None

    @property
    def total(self) -> int:
        return len(self.card_ids)

    @property
    def current_id(self) -> str | None:
        return None if self.finished or self.index >= self.total else self.card_ids[self.index]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlashcardSession:
        return cls(**data)


@dataclass(frozen=True)
class Rated:
    """What one rating did: the card's next due date, and the session after it."""

    card_id: str
    rating: Rating
    due: datetime
    interval: str
    session: FlashcardSession


@dataclass(frozen=True)
class FlashcardSummary:
    total: int
    rated: int
    counts: dict[str, int]  # rating name -> how many
    next_due: datetime | None  # the learner's next due flashcard after this session


@dataclass(frozen=True)
class DueCounts:
    now: int  # due at this moment
    today: int  # due within the next 24 hours, ``now`` included
    next_due: datetime | None  # the earliest due date of any flashcard the learner has studied


class FlashcardService:
    def __init__(
        self,
        store: Store,
        cards: Sequence[Card],
        topics: TopicList,
        source: Callable[[str, str], str],
        *,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.store = store
        self.cards = {c.id: c for c in cards}
        self.topics = topics
        self.source = source
        self.scheduler = scheduler or Scheduler(enable_fuzzing=False)
        self._rating: set[tuple[str, int]] = set()  # (session, card index) being rated now

    # Choosing cards
    async def start(
        self,
        user_id: str,
        user_name: str = "",
        *,
        topic: str | None = None,
        area: str | None = None,
        count: int = DEFAULT_COUNT,
        group_id: str | None = None,
        channel_id: str | None = None,
        at: datetime | None = None,
    ) -> FlashcardSession:
        if not 1 <= count <= MAX_COUNT:
            raise InvalidAnswer(f"A flashcard session has between 1 and {MAX_COUNT} cards.")
        at = at or datetime.now(UTC)
        pool = [
            c for c in self.cards.values() if (topic is None or c.topic == topic) and (area is None or c.area == area)
        ]
        if not pool:
            raise InvalidSessionOptions("No flashcards match that topic or area: see the topic list.")
        schedule = await self.store.schedule(user_id)
        in_pool = {c.id for c in pool}
        due = sorted((d, cid) for cid, d in schedule.items() if cid in in_pool and d <= at)
        chosen = [cid for _, cid in due][:count]
        reasons = dict.fromkeys(chosen, "due")
        if len(chosen) < count:
            for cid in await self._new_cards(user_id, pool, schedule):
                if len(chosen) >= count:
                    break
                chosen.append(cid)
                reasons[cid] = "new"
        if not chosen:
            raise NoFlashcards(self._nothing_due_message(schedule, in_pool, at))
        await self.store.ensure_user(user_id, user_name, group_id)
        session = FlashcardSession(
            uuid.uuid4().hex, user_id, chosen, reasons, [None] * len(chosen), shown_at=at.isoformat(),
            group_id=group_id, channel_id=channel_id,
        )  # fmt: skip
        await self._save(session)
        return session

    async def _new_cards(self, user_id: str, pool: list[Card], schedule: dict[str, datetime]) -> list[str]:
        """Unseen cards of the pool: the learner's weakest tried topics first, then syllabus order;
        within a topic in the order written (the basics come first)."""
        mastery = topic_mastery(await self.store.attempts(user_id))
        order = {t: n for n, t in enumerate(self.topics.topic_ids())}
        fresh = [c for c in pool if c.id not in schedule]
        fresh.sort(key=lambda c: (c.topic not in mastery, mastery.get(c.topic, 0.0), order.get(c.topic, len(order))))
        # Spread over topics: the first card of each topic before the second of any.
        rank: dict[str, int] = {}
        spread: list[tuple[int, int, str]] = []
        for position, card in enumerate(fresh):
            n = rank.get(card.topic, 0)
            rank[card.topic] = n + 1
            spread.append((n // 2, position, card.id))  # two cards of a topic, then the next topic
        return [cid for _, _, cid in sorted(spread)]

    def _nothing_due_message(self, schedule: dict[str, datetime], in_pool: set[str], at: datetime) -> str:
        upcoming = [d for cid, d in schedule.items() if cid in in_pool and d > at]
        if upcoming:
            wait = interval_text(min(upcoming) - at)
            return f"Nothing is due, and you have seen every card there: the next one is due in {wait}."
        return "No flashcards there yet."

    # One card at a time
    def card(self, session: FlashcardSession, index: int | None = None) -> Flashcard:
        card_id = session.card_ids[session.index if index is None else index]
        card = self.cards[card_id]
        return Flashcard(
            card.id, card.question, card.answer, self.topics.title_of(card.topic),
            self.source(card.source.note, card.source.section), session.reasons.get(card_id, "new"),
        )  # fmt: skip

    async def load(self, session_id: str) -> FlashcardSession:
        record = await self.store.load_session(session_id)
        if record is None or record.kind != "flashcards":
            raise SessionNotFound("Those flashcards are no longer there: start again with /cards.")
        session = FlashcardSession.from_dict(record.state)
        # A card the bank no longer has (an edited knowledge folder) is passed over.
        while session.current_id is not None and session.current_id not in self.cards:
            session.index += 1
            session.finished = session.index >= session.total
        return session

    async def reveal(self, session_id: str, user_id: str, index: int | None = None) -> FlashcardSession:
        """Show the current card's answer (it stays current until it is rated)."""
        session = await self._own(session_id, user_id, index)
        if not session.revealed:
            session.revealed = True
            await self._save(session)
        return session

    async def intervals(self, user_id: str, card_id: str, at: datetime | None = None) -> dict[Rating, str]:
        """What each rating would do to the card now, as Anki shows it on its buttons: 'Good 3d'."""
        at = at or datetime.now(UTC)
        previous = await self._fsrs_card(user_id, card_id)
        out: dict[Rating, str] = {}
        for rating in RATINGS.values():
            updated, _ = self.scheduler.review_card(previous, rating, at)
            out[rating] = interval_text(updated.due - at)
        return out

    async def rate(
        self, session_id: str, user_id: str, rating: Rating, index: int | None = None, at: datetime | None = None
    ) -> Rated:
        """Rate the current card (``index`` guards against a stale button rating the next one)."""
        at = at or datetime.now(UTC)
        session = await self._own(session_id, user_id, index)
        position = session.index
        claim = (session_id, position)
        if claim in self._rating:
            raise InvalidAnswer("That card is already rated.")
        self._rating.add(claim)
        try:
            card_id = session.card_ids[position]
            previous = await self._fsrs_card(user_id, card_id)
            duration = self._duration(session, at)
            updated, _ = self.scheduler.review_card(previous, rating, at, duration)
            await self.store.record_review(
                ReviewRecord(user_id, card_id, "flashcard", int(rating), at, duration),
                card=dict(updated.to_dict()), due=updated.due,
            )  # fmt: skip
            session.ratings[position] = int(rating)
            session.index += 1
            session.finished = session.index >= session.total
            session.revealed = False
            session.shown_at = at.isoformat()
            await self._save(session)
        finally:
            self._rating.discard(claim)
        return Rated(card_id, rating, updated.due, interval_text(updated.due - at), session)

    def _duration(self, session: FlashcardSession, at: datetime) -> int | None:
        if session.shown_at is None:
            return None
        spent = at - datetime.fromisoformat(session.shown_at)
        return int(spent.total_seconds() * 1000) if timedelta(0) <= spent <= LONGEST_REVIEW else None

    async def _fsrs_card(self, user_id: str, card_id: str) -> FsrsCard:
        stored = await self.store.card(user_id, card_id)
        return FsrsCard.from_dict(cast("CardDict", stored)) if stored else FsrsCard()

    async def _own(self, session_id: str, user_id: str, index: int | None) -> FlashcardSession:
        session = await self.load(session_id)
        if user_id != session.owner_id:
            raise InvalidAnswer("These flashcards belong to someone else: start your own with /cards.")
        if session.current_id is None:
            raise SessionFinished("These flashcards are done: start again with /cards.")
        if index is not None and index != session.index:
            raise InvalidAnswer("That card is already rated.")
        return session

    # Pausing and carrying on: a session left open is paused (every rating is saved as it is given).
    async def end(self, session_id: str) -> FlashcardSession:
        session = await self.load(session_id)
        session.finished = True
        await self._save(session)
        return session

    async def resumable(self, user_id: str) -> FlashcardSession | None:
        records = await self.store.sessions(kind="flashcards", owner_id=user_id, status="active")
        for record in records:
            session = FlashcardSession.from_dict(record.state)
            if session.current_id is not None:
                return session
        return None

    async def resume(self, session: FlashcardSession, at: datetime | None = None) -> FlashcardSession:
        """Carry on with a paused session: the time away does not count as time on the card."""
        session.shown_at = (at or datetime.now(UTC)).isoformat()
        session.revealed = False
        await self._save(session)
        return session

    async def _save(self, session: FlashcardSession) -> None:
        await self.store.save_session(
            session.id, "flashcards", session.owner_id, session.to_dict(),
            "finished" if session.finished else "active", session.group_id, session.channel_id,
        )  # fmt: skip

    # Counts
    async def due(self, user_id: str, at: datetime | None = None) -> DueCounts:
        at = at or datetime.now(UTC)
        dues = [d for cid, d in (await self.store.schedule(user_id)).items() if cid in self.cards]
        return DueCounts(
            sum(d <= at for d in dues), sum(d <= at + timedelta(days=1) for d in dues), min(dues, default=None)
        )

    async def summary(self, session: FlashcardSession) -> FlashcardSummary:
        counts = {rating_name(r): 0 for r in RATINGS.values()}
        for value in session.ratings:
            if value is not None:
                counts[rating_name(value)] += 1
        dues = [d for cid, d in (await self.store.schedule(session.owner_id)).items() if cid in self.cards]
        return FlashcardSummary(session.total, sum(counts.values()), counts, min(dues, default=None))
