"""Quiz sessions and spaced repetition.

A quiz draws items from the banks (filters: area, topic, difficulty, types), grades multiple choice
and true/false exactly and short answers with the rubric grader, and shows the explanation and its
source after every answer. Every answer updates the learner's fsrs card for that item, so the review
mode can serve what is due first and then the weakest topics.

Sessions are plain data saved after every step, so a quiz survives a restart of the bot.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from fsrs import Card, Rating, Scheduler

if TYPE_CHECKING:
    from fsrs.card import CardDict

from bot.study.banks import QuizItem, QuizType
from bot.study.errors import InvalidAnswer, NoQuizItems, SessionFinished, SessionNotFound
from bot.study.grading import MAX_ANSWER_CHARS, Grader, Verdict
from bot.study.progress import MASTERED, topic_mastery
from bot.study.store import AttemptRecord, ReviewRecord, Store

MAX_COUNT = 25
LONGEST_ANSWER_S = 30 * 60  # longer than this, the learner was away: the duration is unknown
LETTERS = "ABCDEF"


@dataclass
class QuizResult:
    item_id: str
    user_id: str
    response: str
    correct: bool
    score: float
    verdict: str
    explanation: str
    source: str
    right_answer: str
    feedback: str = ""
    covered: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)


@dataclass
class QuizSession:
    id: str
    owner_id: str
    item_ids: list[str]
    mode: str = "quiz"  # quiz | review
    channel: bool = False  # everyone in the channel may answer
    group_id: str | None = None
    channel_id: str | None = None
    index: int = 0
    results: list[dict[str, dict[str, Any]]] = field(default_factory=list)  # per question: user -> result
    finished: bool = False
    # item id -> the order its choices are shown in (indexes into the bank's choices), drawn when the
    # session opens and saved with it: letters and buttons mean the same after a restart.
    orders: dict[str, list[int]] = field(default_factory=dict)
    # When the current question was put in front of the learner (ISO time): how long an answer took
    # goes into the review log, for fitting fsrs to the learner later.
    shown_at: str | None = None
    # Review mode: item id -> why it is in the review (a ReviewReason as a dict).
    reasons: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.item_ids)

    @property
    def current_id(self) -> str | None:
        return None if self.finished or self.index >= self.total else self.item_ids[self.index]

    def move_on(self) -> None:
        self.index += 1
        self.finished = self.index >= self.total
        self.shown_at = datetime.now(UTC).isoformat()

    def answer_time_ms(self, at: datetime) -> int | None:
        """Milliseconds since the current question was shown; None when unknown or implausibly long."""
        if self.shown_at is None:
            return None
        spent = (at - datetime.fromisoformat(self.shown_at)).total_seconds()
        return int(spent * 1000) if 0 <= spent <= LONGEST_ANSWER_S else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuizSession:
        return cls(**data)  # sessions saved before ``orders`` existed show the bank's order


def presented(item: QuizItem, order: Sequence[int] | None) -> QuizItem:
    """The item with its choices in ``order`` and its answer pointing at the same choice(s)."""
    if not order or item.type not in (QuizType.mcq, QuizType.multi) or sorted(order) != list(range(len(item.choices))):
        return item
    choices = [item.choices[i] for i in order]
    position = {original: shown for shown, original in enumerate(order)}
    if isinstance(item.answer, list):
        answer: Any = sorted(position[i] for i in item.answer)
    else:
        assert isinstance(item.answer, int)
        answer = position[item.answer]
    return item.model_copy(update={"choices": choices, "answer": answer})


@dataclass(frozen=True)
class ReviewReason:
    """Why an item is in a review.

    ``due``: its spaced-repetition review is due (since ``due_since``); ``weak``: it comes from one of
    the learner's weakest topics (``mastery`` then, None for a topic not tried yet); ``missed`` and
    ``skipped``: it was answered wrongly or skipped in the quiz this review goes back over.
    """

    kind: str
    topic: str
    due_since: datetime | None = None
    mastery: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "due_since": self.due_since.isoformat() if self.due_since else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReviewReason:
        since = data.get("due_since")
        return cls(data["kind"], data["topic"], datetime.fromisoformat(since) if since else None, data.get("mastery"))


@dataclass(frozen=True)
class ReviewOffer:
    """What to do instead of a review when nothing is due."""

    weakest: list[tuple[str, float]]  # (topic, mastery) of up to three topics tried and not mastered, weakest first
    next_due: datetime | None  # when the first review comes due (None: nothing is scheduled)
    answered: int  # answers the learner has given so far (0: a new learner, who needs a first quiz)


class NothingDue(NoQuizItems):
    """A review was asked for while nothing is due; ``offer`` says what to practise instead."""

    def __init__(self, offer: ReviewOffer) -> None:
        if not offer.answered:
            message = "Nothing to review yet: reviews bring back what you have answered. Take a first quiz."
        elif offer.weakest:
            message = "Nothing is due for review now: practise one of your weakest topics, or take a quiz."
        else:
            message = "Nothing is due for review now: take a quiz on something new."
        super().__init__(message)
        self.offer = offer


@dataclass
class QuizSummary:
    total: int
    answered: int
    correct: int
    score: float  # sum of scores
    by_topic: dict[str, tuple[int, int]]  # topic -> (correct, answered)
    to_review: list[str]  # item ids answered wrongly
    ranking: list[tuple[str, float, int]] = field(default_factory=list)  # channel mode: user, points, correct


def display_answer(item: QuizItem) -> str:
    """The right answer in words, as a learner should see it."""
    if item.type is QuizType.mcq:
        assert isinstance(item.answer, int)
        return f"{LETTERS[item.answer]}. {item.choices[item.answer]}"
    if item.type is QuizType.multi:
        assert isinstance(item.answer, list)
        return "; ".join(f"{LETTERS[i]}. {item.choices[i]}" for i in sorted(item.answer))
    if item.type is QuizType.true_false:
        return "True" if item.answer else "False"
    return str(item.answer)


_TRUE = {"t", "true", "yes", "y", "1", "vrai"}
_FALSE = {"f", "false", "no", "n", "0"}


def parse_choice_letters(item: QuizItem, raw: str) -> list[int]:
    """'B', 'b', '2', 'A, C', 'ac' -> choice indexes; InvalidAnswer if any is out of range."""
    text = raw.strip().upper()
    tokens = re.findall(r"[A-Z]|\d+", text) if ("," in text or " " in text) else list(text)
    picked: list[int] = []
    for token in tokens:
        index = int(token) - 1 if token.isdigit() else LETTERS.find(token)
        if not 0 <= index < len(item.choices):
            raise InvalidAnswer(f"Answer with a letter from A to {LETTERS[len(item.choices) - 1]}.")
        if index not in picked:
            picked.append(index)
    if not picked:
        raise InvalidAnswer(f"Answer with a letter from A to {LETTERS[len(item.choices) - 1]}.")
    return picked


def check_exact(item: QuizItem, raw: str) -> tuple[bool, float]:
    """Grade a non-short item: (correct, score). Multi gets partial credit but is correct only if exact."""
    if item.type is QuizType.true_false:
        value = raw.strip().lower()
        if value not in _TRUE | _FALSE:
            raise InvalidAnswer("Answer true or false.")
        ok = (value in _TRUE) == item.answer
        return ok, 1.0 if ok else 0.0
    picked = parse_choice_letters(item, raw)
    if item.type is QuizType.mcq:
        if len(picked) != 1:
            raise InvalidAnswer("Pick exactly one answer.")
        ok = picked[0] == item.answer
        return ok, 1.0 if ok else 0.0
    assert isinstance(item.answer, list)
    right = set(item.answer)
    chosen = set(picked)
    score = max(0.0, (len(right & chosen) - len(chosen - right)) / len(right))
    return chosen == right, round(score, 3)


def rating_for(correct: bool, score: float) -> Rating:
    if correct:
        return Rating.Good
    return Rating.Hard if score >= 0.35 else Rating.Again


class QuizService:
    def __init__(self, store: Store, grader: Grader, items: Sequence[QuizItem], *, seed: int | None = None) -> None:
        self.store = store
        self.grader = grader
        self.items = {i.id: i for i in items}
        self.scheduler = Scheduler(enable_fuzzing=False)
        self._random = random.Random(seed)
        # (session, question index, user) answers being graded now: a second click on the same
        # question is refused at once instead of being graded and recorded twice.
        self._grading: set[tuple[str, int, str]] = set()

    def item(self, item_id: str) -> QuizItem:
        """The item as the bank has it (choices in the authored order)."""
        return self.items[item_id]

    def shown(self, session: QuizSession, index: int | None = None) -> QuizItem:
        """A question of the session (the current one by default) as this session shows it: shuffled choices."""
        item_id = session.item_ids[session.index if index is None else index]
        return presented(self.items[item_id], session.orders.get(item_id))

    def select(
        self,
        *,
        area: str | None = None,
        topic: str | None = None,
        difficulty: str | None = None,
        types: Sequence[str] | None = None,
    ) -> list[QuizItem]:
        return [
            i
            for i in self.items.values()
            if (area is None or i.area == area)
            and (topic is None or i.topic == topic)
            and (difficulty is None or i.difficulty.value == difficulty)
            and (not types or i.type.value in types)
        ]

    async def start(
        self,
        user_id: str,
        user_name: str = "",
        *,
        area: str | None = None,
        topic: str | None = None,
        difficulty: str | None = None,
        types: Sequence[str] | None = None,
        count: int = 5,
        channel: bool = False,
        group_id: str | None = None,
        channel_id: str | None = None,
    ) -> QuizSession:
        if not 1 <= count <= MAX_COUNT:
            raise InvalidAnswer(f"A quiz has between 1 and {MAX_COUNT} questions.")
        pool = self.select(area=area, topic=topic, difficulty=difficulty, types=types)
        if not pool:
            raise NoQuizItems("No quiz questions match those filters: try fewer filters, or see the topic list.")
        picked = self._spread(pool, count)
        return await self._open(user_id, user_name, [i.id for i in picked], "quiz", channel, group_id, channel_id)

    async def review(
        self, user_id: str, user_name: str = "", *, count: int = 10, topic: str | None = None,
        group_id: str | None = None, channel_id: str | None = None, at: datetime | None = None,
    ) -> QuizSession:  # fmt: skip
        """A review: the items due now (most overdue first), then items from the learner's weakest topics.

        With ``topic``, that topic only (its due items first). Without one, a review needs something due:
        otherwise it raises :class:`NothingDue`, which offers the weakest topics (or a first quiz)
        instead of questions the learner never asked for. Every item's reason is kept in the session.
        """
        if not 1 <= count <= MAX_COUNT:
            raise InvalidAnswer(f"A review has between 1 and {MAX_COUNT} questions.")
        if topic is not None and not self.select(topic=topic):
            raise NoQuizItems("No quiz questions on that topic: see the topic list.")
        at = at or datetime.now(UTC)
        attempts = await self.store.attempts(user_id)
        mastery = topic_mastery(attempts, at)
        schedule = {i: due for i, due in (await self.store.schedule(user_id)).items() if i in self.items}
        due = sorted((d, i) for i, d in schedule.items() if d <= at and topic in (None, self.items[i].topic))
        reasons = {i: ReviewReason("due", self.items[i].topic, due_since=d) for d, i in due[:count]}
        if not reasons and topic is None:
            weakest = sorted(((t, m) for t, m in mastery.items() if m < MASTERED), key=lambda tm: (tm[1], tm[0]))
            upcoming = [d for d in schedule.values() if d > at]
            raise NothingDue(ReviewOffer(weakest[:3], min(upcoming, default=None), len(attempts)))
        if topic is not None:
            weak = [topic]
        else:
            weak = sorted((t for t, m in mastery.items() if m < MASTERED), key=lambda t: (mastery[t], t))
        # Then the weakest topics in turn, two items each per round: new ones first, then ones seen before.
        pools: dict[str, list[str]] = {}
        for t in weak:
            items = [i.id for i in self.select(topic=t) if i.id not in reasons]
            self._random.shuffle(items)
            pools[t] = sorted(items, key=lambda i: i in schedule)
        while len(reasons) < count and any(pools.values()):
            for t, items in pools.items():
                for item_id in items[:2][: count - len(reasons)]:
                    reasons[item_id] = ReviewReason("weak", t, mastery=mastery.get(t))
                del items[:2]
        chosen = list(reasons)[:count]
        return await self._open(user_id, user_name, chosen, "review", False, group_id, channel_id, reasons)

    def reason(self, session: QuizSession, index: int | None = None) -> ReviewReason | None:
        """Why a question of a review (the current one by default) is in it; None outside reviews."""
        item_id = session.item_ids[session.index if index is None else index]
        data = session.reasons.get(item_id)
        return ReviewReason.from_dict(data) if data else None

    def _spread(self, pool: list[QuizItem], count: int) -> list[QuizItem]:
        """A random pick that spreads over topics before taking two of the same topic."""
        by_topic: dict[str, list[QuizItem]] = {}
        for item in self._random.sample(pool, len(pool)):
            by_topic.setdefault(item.topic, []).append(item)
        picked: list[QuizItem] = []
        while len(picked) < min(count, len(pool)):
            for items in list(by_topic.values()):
                if items and len(picked) < count:
                    picked.append(items.pop())
        return picked

    async def _open(
        self, user_id: str, user_name: str, item_ids: list[str], mode: str, channel: bool,
        group_id: str | None, channel_id: str | None, reasons: dict[str, ReviewReason] | None = None,
    ) -> QuizSession:  # fmt: skip
        await self.store.ensure_user(user_id, user_name, group_id)
        session = QuizSession(uuid.uuid4().hex, user_id, item_ids, mode, channel, group_id, channel_id)
        session.reasons = {i: reasons[i].to_dict() for i in item_ids if i in reasons} if reasons else {}
        session.shown_at = datetime.now(UTC).isoformat()
        session.results = [{} for _ in item_ids]
        for item_id in item_ids:  # shuffled on every presentation: position and letter give nothing away
            item = self.items[item_id]
            if item.type in (QuizType.mcq, QuizType.multi):
                session.orders[item_id] = self._random.sample(range(len(item.choices)), len(item.choices))
        await self._save(session)
        return session

    async def _save(self, session: QuizSession) -> None:
        await self.store.save_session(
            session.id, "quiz", session.owner_id, session.to_dict(),
            "finished" if session.finished else "active", session.group_id, session.channel_id,
        )  # fmt: skip

    async def load(self, session_id: str) -> QuizSession:
        record = await self.store.load_session(session_id)
        if record is None or record.kind != "quiz":
            raise SessionNotFound("That quiz no longer exists.")
        return QuizSession.from_dict(record.state)

    async def active_for(self, user_id: str) -> QuizSession | None:
        records = await self.store.sessions(kind="quiz", owner_id=user_id, status="active")
        return QuizSession.from_dict(records[0].state) if records else None

    async def answer(self, session_id: str, user_id: str, response: str, user_name: str = "") -> QuizResult:
        """Grade one answer to the current question. In solo mode it also moves to the next one."""
        session = await self.load(session_id)
        item_id = session.current_id
        if item_id is None:
            raise SessionFinished("This quiz is over: start a new one.")
        if not session.channel and user_id != session.owner_id:
            raise InvalidAnswer("This quiz belongs to someone else: start your own.")
        index = session.index
        claim = (session_id, index, user_id)
        if user_id in session.results[index] or claim in self._grading:
            raise InvalidAnswer("You already answered this question.")
        self._grading.add(claim)  # no await between the check and the claim: no one slips in
        try:
            return await self._record(session, index, user_id, response, user_name)
        finally:
            self._grading.discard(claim)

    async def _record(
        self, session: QuizSession, index: int, user_id: str, response: str, user_name: str
    ) -> QuizResult:
        item = self.shown(session, index)
        result = await self._grade(item, user_id, response)
        if session.channel:
            await self.store.ensure_user(user_id, user_name, session.group_id)
        stored = await self.store.card(user_id, item.id)
        previous = Card.from_dict(cast("CardDict", stored)) if stored else Card()
        at = datetime.now(UTC)
        rating = rating_for(result.correct, result.score)
        duration = session.answer_time_ms(at)
        updated, _ = self.scheduler.review_card(previous, rating, at, duration)
        await self.store.record_attempt(
            AttemptRecord(user_id, item.id, session.mode, item.area, item.topic, result.score, result.correct,
                          at, session.group_id, session.id),
            card=dict(updated.to_dict()), due=updated.due,
            review=ReviewRecord(user_id, item.id, session.mode, int(rating), at, duration),
        )  # fmt: skip
        # Re-read before writing: in channel mode other answers may have landed meanwhile.
        session = await self.load(session.id)
        session.results[index][user_id] = asdict(result)
        if not session.channel and session.index == index:
            session.move_on()
        await self._save(session)
        return result

    async def advance(self, session_id: str) -> QuizSession:
        """Channel mode: close the current question and move on."""
        session = await self.load(session_id)
        if not session.finished:
            session.move_on()
            await self._save(session)
        return session

    async def stop(self, session_id: str) -> QuizSession:
        session = await self.load(session_id)
        session.finished = True
        await self._save(session)
        return session

    async def skip(self, session_id: str, index: int) -> QuizSession:
        """Solo: leave question ``index`` unanswered and move on (nothing is recorded for it)."""
        session = await self.load(session_id)
        if not session.finished and session.index == index and not session.results[index]:
            session.move_on()
            await self._save(session)
        return session

    async def resumable(self, user_id: str) -> QuizSession | None:
        """The learner's unfinished solo quiz or review, if any (a paused one stays active)."""
        records = await self.store.sessions(kind="quiz", owner_id=user_id, status="active")
        sessions = [QuizSession.from_dict(r.state) for r in records]
        return next((s for s in sessions if not s.channel and not s.finished), None)

    async def missed_again(self, session_id: str, user_name: str = "") -> QuizSession:
        """A review of the questions the owner missed or skipped in a finished session."""
        old = await self.load(session_id)
        reasons: dict[str, ReviewReason] = {}
        for item_id, per_user in zip(old.item_ids, old.results, strict=True):
            mine = per_user.get(old.owner_id)
            if item_id in self.items and not (mine or {}).get("correct"):
                reasons[item_id] = ReviewReason("skipped" if mine is None else "missed", self.items[item_id].topic)
        if not reasons:
            raise NoQuizItems("You missed nothing in that quiz: try a new one.")
        return await self._open(old.owner_id, user_name, list(reasons), "review", False, old.group_id,
                                old.channel_id, reasons)  # fmt: skip

    async def another_like(self, session_id: str, user_name: str = "") -> QuizSession:
        """A new quiz over the same topic (or area) as a finished one, of the same length."""
        old = await self.load(session_id)
        items = [self.items[i] for i in old.item_ids if i in self.items]
        topics = {i.topic for i in items}
        areas = {i.area for i in items}
        topic = next(iter(topics)) if len(topics) == 1 else None
        area = next(iter(areas)) if len(areas) == 1 and topic is None else None
        return await self.start(old.owner_id, user_name, area=area, topic=topic, count=min(old.total, MAX_COUNT),
                                group_id=old.group_id, channel_id=old.channel_id)  # fmt: skip

    async def _grade(self, item: QuizItem, user_id: str, response: str) -> QuizResult:
        source = self.grader.rubrics.source(item.source.note, item.source.section)
        if item.type is QuizType.short:
            text = response.strip()[:MAX_ANSWER_CHARS]
            if not text:
                raise InvalidAnswer("Type an answer (a sentence or two).")
            grade = await self.grader.agrade(self.grader.rubric_for_item(item), text)
            return QuizResult(
                item.id, user_id, text, grade.verdict is Verdict.correct, grade.score, grade.verdict.value,
                item.explanation, source, display_answer(item), grade.feedback, grade.covered, grade.missed,
            )  # fmt: skip
        correct, score = check_exact(item, response)
        verdict = "correct" if correct else ("partial" if score > 0 else "incorrect")
        return QuizResult(
            item.id, user_id, response.strip()[:50], correct, score, verdict, item.explanation, source,
            display_answer(item),
        )  # fmt: skip

    def summary(self, session: QuizSession) -> QuizSummary:
        answered = correct = 0
        score = 0.0
        by_topic: dict[str, tuple[int, int]] = {}
        wrong: list[str] = []
        points: dict[str, list[float]] = {}
        for item_id, per_user in zip(session.item_ids, session.results, strict=True):
            for user, result in per_user.items():
                points.setdefault(user, [0.0, 0])  # type: ignore[list-item]
                points[user][0] += result["score"]
                points[user][1] += int(result["correct"])
            mine = per_user.get(session.owner_id)
            if mine is None:
                continue
            topic = self.items[item_id].topic
            ok, seen = by_topic.get(topic, (0, 0))
            by_topic[topic] = (ok + int(mine["correct"]), seen + 1)
            answered += 1
            correct += int(mine["correct"])
            score += mine["score"]
            if not mine["correct"]:
                wrong.append(item_id)
        ranking = sorted(((u, p[0], int(p[1])) for u, p in points.items()), key=lambda r: (-r[1], -r[2], r[0]))
        return QuizSummary(session.total, answered, correct, score, by_topic, wrong, ranking)
