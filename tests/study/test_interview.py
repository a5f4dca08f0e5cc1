"""Mock interviews: question choice, follow-ups, group modes, time limits, persistence, the terminal flow.

Everything runs on the real pieces: the interview bank in knowledge/, the rubric grader with the
bundled embedding model, and the Store on a temporary SQLite file. Answers are built from the
bank's own key points, so a "good" answer covers them all and a "weak" one covers only the first.
"""

from __future__ import annotations

import asyncio
import io
import random
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from bot.study.answering.cards import CardIndex
from bot.study.banks import InterviewQuestion, Level, load_interview_questions, load_quiz_items, load_topics
from bot.study.embedding import Embedder
from bot.study.errors import (
    AnswerTooLate,
    InvalidAnswer,
    InvalidSessionOptions,
    NoInterviewQuestions,
    NotSessionOwner,
    NotYourTurn,
    SessionAlreadyStarted,
    SessionFinished,
    SessionNotFound,
)
from bot.study.grading import Grade, Grader, Verdict, WrongClaim
from bot.study.interview import (
    AnswerFeedback,
    InterviewService,
    InterviewSession,
    Outcome,
    Participant,
    SessionStatus,
    clean_answer,
    combine_grades,
    follow_up_feedback,
    pick_follow_up,
    select_questions,
    source_of,
    with_follow_up,
)
from bot.study.store import Store
from bot.terminal.interview import run_interview
from bot.terminal.line_input import LeaveRequested

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
BANK = load_interview_questions(KNOWLEDGE)
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def good(q: InterviewQuestion) -> str:
    return " ".join(q.key_points)


def weak(q: InterviewQuestion) -> str:
    return q.key_points[0]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def grader(embedder: Embedder) -> Grader:
    return Grader(embedder, quiz=load_quiz_items(KNOWLEDGE), interview=BANK)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/t.db"


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = Store(db_url)
    yield s
    await s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_service(store: Store, grader: Grader, clock: Clock) -> Callable[..., InterviewService]:
    def make(**kw: object) -> InterviewService:
        values: dict[str, object] = {"seed": 7, "clock": clock}
        values.update(kw)
        return InterviewService(store, grader, BANK, **values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def service(make_service: Callable[..., InterviewService]) -> InterviewService:
    return make_service()


# --- solo -----------------------------------------------------------------------------------------


async def test_full_solo_interview(service: InterviewService, store: Store) -> None:
    session = await service.start("u1", "Ann", area="algorithms", level="junior", questions=3)
    assert session.status is SessionStatus.active and session.total == 3
    assert all(q.area == "algorithms" and q.level == "junior" for q in session.questions)
    q1, q2, q3 = session.questions
    prompt = session.current_prompt()
    assert prompt is not None and prompt.text == q1.question and prompt.user_ids == ("u1",)
    assert (prompt.number, prompt.total, prompt.is_follow_up) == (1, 3, False)
    assert prompt.deadline == START + timedelta(seconds=300)

    # A weak answer gets one follow-up, and no feedback yet (it would give the follow-up away).
    step = await service.answer(session.id, "u1", weak(q1))
    assert step.feedback is None and step.follow_up is not None
    assert step.follow_up.is_follow_up and step.follow_up.text in q1.follow_ups
    assert step.prompt == step.follow_up and step.session.current_prompt() == step.follow_up
    # The follow-up answer covers the rest: the union of both makes the question correct.
    step = await service.answer(session.id, "u1", " ".join(q1.key_points[1:]))
    fb = step.feedback
    assert fb is not None and fb.verdict is Verdict.correct and fb.score == 1.0
    assert fb.covered == q1.key_points and fb.missed == [] and fb.follow_up in q1.follow_ups
    assert fb.sources == [source_of(q1)] and fb.model_answer == " ".join(q1.key_points)
    assert "follow-up" in fb.feedback
    assert fb.follow_up_outcome is Outcome.answered and fb.follow_up_feedback.startswith("Your follow-up added: ")
    assert step.prompt is not None and step.prompt.number == 2 and step.prompt.text == q2.question

    # A good answer is correct at once: no follow-up.
    step = await service.answer(session.id, "u1", good(q2))
    assert step.follow_up is None and step.feedback is not None and step.feedback.verdict is Verdict.correct
    assert step.feedback.follow_up is None

    # A weak answer and a weak follow-up: exactly one follow-up, then the question closes.
    step = await service.answer(session.id, "u1", weak(q3))
    assert step.follow_up is not None
    step = await service.answer(session.id, "u1", weak(q3))
    fb = step.feedback
    assert step.follow_up is None and fb is not None and fb.verdict is not Verdict.correct
    assert fb.covered == [q3.key_points[0]] and fb.missed == q3.key_points[1:]
    assert fb.follow_up_feedback.startswith("Your follow-up repeated points you had already made")
    assert step.finished and step.prompt is None and step.session.status is SessionStatus.finished

    [card] = step.scorecards
    assert card.user_id == "u1" and card.name == "Ann" and card.status is SessionStatus.finished
    assert [i.number for i in card.items] == [1, 2, 3]
    assert [i.follow_up_asked for i in card.items] == [True, False, True]
    assert card.items[0].score == card.items[1].score == 1.0
    assert card.overall == pytest.approx((2 + fb.score) / 3)
    assert [s.split(":")[0] for s in card.strengths] == ["Q1", "Q2", "Q3"]  # the best answers first
    assert card.to_improve and all(line.startswith("Q3: ") for line in card.to_improve)
    assert card.read_next == [source_of(q3)]
    text = "\n".join(card.summary_lines())
    assert "Scorecard for Ann" in text and f"Q3 [{q3.topic}]" in text and source_of(q3) in text
    assert card.to_dict()["items"][0]["verdict"] == "correct"

    # Saved as finished; every graded final answer is an attempt of kind "interview".
    record = await store.load_session(session.id)
    assert record is not None and record.status == "finished" and record.kind == "interview"
    attempts = await store.attempts("u1")
    assert [a.item_id for a in attempts] == [q1.id, q2.id, q3.id]
    assert [a.correct for a in attempts] == [True, True, False]
    assert all(a.kind == "interview" and a.session_id == session.id for a in attempts)
    assert attempts[2].score == pytest.approx(fb.score) and attempts[0].topic == q1.topic
    with pytest.raises(SessionFinished):
        await service.answer(session.id, "u1", good(q3))


async def test_empty_and_oversized_answers_are_refused_without_burning_the_question(service: InterviewService) -> None:
    session = await service.start("u1", questions=3)
    for bad in ("", "   \n\t ", "\u200b"):
        with pytest.raises(InvalidAnswer, match="empty"):
            await service.answer(session.id, "u1", bad)
    with pytest.raises(InvalidAnswer, match="4,000"):
        await service.answer(session.id, "u1", "word " * 1000)
    again = await service.load(session.id)
    assert again.index == 0 and again.results == [] and again.slots[0].follow_up is None
    assert clean_answer("  line one\r\n\r\n\r\n\r\nline\x00two ") == "line one\n\nline two"


async def test_skip_records_the_question_as_unanswered(service: InterviewService, store: Store) -> None:
    session = await service.start("u1", area="data", questions=3)
    step = await service.skip(session.id, "u1")
    fb = step.feedback
    assert fb is not None and fb.outcome is Outcome.skipped and fb.score == 0 and fb.verdict is Verdict.incorrect
    assert fb.missed == session.questions[0].key_points and "Skipped" in fb.feedback
    assert step.prompt is not None and step.prompt.number == 2
    assert await store.attempts("u1") == []  # nothing was graded


# --- choosing questions ---------------------------------------------------------------------------


async def test_counts_levels_and_modes_are_validated(service: InterviewService) -> None:
    for count in (2, 8):
        with pytest.raises(InvalidSessionOptions, match="between 3 and 7"):
            await service.start("u1", questions=count)
    with pytest.raises(InvalidSessionOptions, match="junior, mid or senior"):
        await service.start("u1", level="expert")
    with pytest.raises(InvalidSessionOptions, match="turns or same"):
        await service.start("u1", group=True, mode="relay")
    with pytest.raises(NoInterviewQuestions, match="Did you mean svm"):
        await service.start("u1", topic="svms")
    with pytest.raises(NoInterviewQuestions, match="area"):
        await service.start("u1", area="astrology")
    with pytest.raises(NoInterviewQuestions):
        await service.start("u1", area="math", topic="svm")  # a topic of another area
    with pytest.raises(InvalidSessionOptions, match="positive"):
        InterviewService(service.store, service.grader, BANK, time_limit_s=0)


def test_selection_filters_falls_back_and_is_deterministic() -> None:
    picked, notice = select_questions(BANK, random.Random(1), count=5, area="mlops", level="mid")
    assert len({q.id for q in picked}) == 5 and notice == ""
    assert all(q.area == "mlops" and q.level == "mid" for q in picked)
    assert len({q.kind for q in picked}) >= 3  # a mix of kinds when the pool allows it
    again, _ = select_questions(BANK, random.Random(1), count=5, area="mlops", level="mid")
    assert [q.id for q in again] == [q.id for q in picked]

    # Too few at the level: neighbouring levels fill in, and the notice says so.
    junior_cloud = [q for q in BANK if q.area == "cloud" and q.level == "junior"]
    assert len(junior_cloud) < 5
    picked, notice = select_questions(BANK, random.Random(1), count=5, area="cloud", level="junior")
    assert {q.id for q in junior_cloud} <= {q.id for q in picked} and "neighbouring level" in notice
    assert [q.level.value for q in picked] == sorted(
        (q.level.value for q in picked), key=["junior", "mid", "senior"].index
    )

    # A topic with fewer questions than asked: all of them, then the rest of its area.
    svm = [q for q in BANK if q.topic == "svm"]
    picked, notice = select_questions(BANK, random.Random(1), count=4, topic="svm")
    assert {q.id for q in svm} <= {q.id for q in picked} and {q.area for q in picked} == {"algorithms"}
    assert "svm" in notice and len({q.id for q in picked}) == 4

    with pytest.raises(NoInterviewQuestions, match="Only 2"):
        select_questions([q for q in BANK if q.topic == "svm"], random.Random(1), count=3, topic="svm")


def test_follow_up_is_the_one_closest_to_what_was_missed() -> None:
    q = next(q for q in BANK if len(q.follow_ups) >= 2)
    for i, follow_up in enumerate(q.follow_ups):
        assert pick_follow_up(q, [follow_up]) == follow_up, i
    assert pick_follow_up(q, ["zzz qqq"]) == q.follow_ups[0]  # nothing in common: the first


# --- groups ---------------------------------------------------------------------------------------


async def test_group_turns_mode(service: InterviewService) -> None:
    session = await service.start("a", "Ada", area="evaluation", questions=4, group=True, mode="turns", group_id="g1")
    assert session.status is SessionStatus.lobby and session.current_prompt() is None
    with pytest.raises(NotYourTurn, match="not started"):
        await service.answer(session.id, "a", good(session.questions[0]))
    await service.join(session.id, "b", "Bob")
    await service.join(session.id, "b", "Bob")  # twice is harmless
    with pytest.raises(NotSessionOwner):
        await service.begin(session.id, "b")
    session = await service.begin(session.id, "a")
    assert [p.user_id for p in session.participants] == ["a", "b"]
    with pytest.raises(SessionAlreadyStarted):
        await service.join(session.id, "c", "Cy")
    with pytest.raises(SessionAlreadyStarted):
        await service.begin(session.id, "a")

    expected = ["a", "b", "a", "b"]
    for i, (q, who) in enumerate(zip(session.questions, expected, strict=True)):
        prompt = (await service.load(session.id)).current_prompt()
        assert prompt is not None and prompt.user_ids == (who,) and prompt.number == i + 1
        other = "b" if who == "a" else "a"
        with pytest.raises(NotYourTurn, match="turn"):
            await service.answer(session.id, other, good(q))
        with pytest.raises(NotYourTurn, match="not part"):
            await service.answer(session.id, "stranger", good(q))
        step = await service.answer(session.id, who, good(q))
        assert step.feedback is not None and step.feedback.user_id == who
    assert step.finished
    cards = {c.user_id: c for c in step.scorecards}
    assert [i.number for i in cards["a"].items] == [1, 3] and [i.number for i in cards["b"].items] == [2, 4]
    assert cards["b"].name == "Bob" and cards["a"].overall > 0.6


def test_solo_and_group_scorecards_word_strengths_alike_without_slugs() -> None:
    """Whether a participant got a question fully right or only part of one, a strength reads the same:
    the question's number, how many key points were covered, and one of them; never a topic slug."""
    q1, q2 = BANK[0], BANK[1]

    def result(q: InterviewQuestion, number: int, user: str, covered: int) -> AnswerFeedback:
        points = list(q.key_points)
        verdict = Verdict.correct if covered == len(points) else Verdict.partial
        return AnswerFeedback(
            "s1", number, q.id, q.question, q.topic, user, user.title(), verdict, covered / len(points),
            points[:covered], points[covered:], [], "", "", [source_of(q)],
        )  # fmt: skip

    ada, bo = Participant("ada", "Ada"), Participant("bo", "Bo")
    group = InterviewSession("s1", "ada", [q1, q2], [ada, bo], group=True)
    group.results = [result(q1, 1, "ada", len(q1.key_points)), result(q2, 2, "bo", 1)]
    solo = InterviewSession("s2", "bo", [q2], [bo])
    solo.results = [result(q2, 1, "bo", 1)]
    strengths = [s for card in (*group.scorecards(), *solo.scorecards()) for s in card.strengths]
    assert len(strengths) == 3
    for line in strengths:
        assert re.fullmatch(r"Q\d: \d+ of \d+ key points, e\.g\. .+", line), line
        assert q1.topic not in line and q2.topic not in line
    assert strengths[0].startswith(f"Q1: {len(q1.key_points)} of {len(q1.key_points)} key points")


async def test_group_turns_needs_a_question_per_member(service: InterviewService) -> None:
    session = await service.start("a", questions=3, group=True)
    for user in "bcd":
        await service.join(session.id, user)
    with pytest.raises(InvalidSessionOptions, match="more questions"):
        await service.begin(session.id, "a")
    with pytest.raises(SessionAlreadyStarted, match="solo"):
        await service.join((await service.start("z", questions=3)).id, "y")


async def test_group_same_mode_holds_feedback_until_everyone_answered(service: InterviewService, clock: Clock) -> None:
    session = await service.start("a", "Ada", area="data", questions=3, group=True, mode="same", channel_id="c1")
    await service.join(session.id, "b", "Bob")
    session = await service.begin(session.id, "a")
    q1, q2, q3 = session.questions
    prompt = session.current_prompt()
    assert prompt is not None and prompt.user_ids == ("a", "b") and prompt.names == ("Ada", "Bob")

    step = await service.answer(session.id, "a", good(q1))
    assert step.feedback is None and step.released == [] and step.waiting_for == ["b"]
    with pytest.raises(NotYourTurn, match="already answered"):
        await service.answer(session.id, "a", good(q1))
    step = await service.answer(session.id, "b", good(q1))
    assert step.feedback is not None and step.feedback.user_id == "b"
    assert {r.user_id for r in step.released} == {"a", "b"} and step.prompt is not None and step.prompt.number == 2

    # Follow-ups are per member: Ada gets one, Bob's answer is complete; the round waits for Ada.
    step = await service.answer(session.id, "a", weak(q2))
    assert step.follow_up is not None and step.follow_up.user_ids == ("a",)
    step = await service.answer(session.id, "b", good(q2))
    assert step.feedback is None and step.waiting_for == ["a"]
    step = await service.answer(session.id, "a", " ".join(q2.key_points[1:]))
    assert {r.user_id for r in step.released} == {"a", "b"} and all(r.correct for r in step.released)

    # Bob lets the third question run out: the round closes through expire().
    await service.answer(session.id, "a", good(q3))
    assert await service.expire(session.id, now=clock.now + timedelta(seconds=299)) is None
    step = await service.expire(session.id, now=clock.now + timedelta(seconds=300))
    assert step is not None and step.finished
    late = next(r for r in step.released if r.user_id == "b")
    assert late.outcome is Outcome.timeout and late.score == 0 and "no answer in time" in late.feedback.lower()
    cards = {c.user_id: c for c in step.scorecards}
    assert [i.number for i in cards["a"].items] == [1, 2, 3] == [i.number for i in cards["b"].items]
    assert cards["b"].items[2].outcome is Outcome.timeout and cards["b"].overall == pytest.approx(2 / 3)
    assert cards["a"].overall == 1.0 and cards["a"].read_next == []
    assert await service.active_for(channel_id="c1") == []


async def test_simultaneous_answers_in_same_mode_are_both_kept(service: InterviewService) -> None:
    session = await service.start("a", area="math", questions=3, group=True, mode="same")
    await service.join(session.id, "b")
    session = await service.begin(session.id, "a")
    q1 = session.questions[0]
    steps = await asyncio.gather(service.answer(session.id, "a", good(q1)), service.answer(session.id, "b", good(q1)))
    assert sorted(len(s.released) for s in steps) == [0, 2]
    session = await service.load(session.id)
    assert session.index == 1 and {r.user_id for r in session.results} == {"a", "b"}


# --- time limits, ending, restarts ----------------------------------------------------------------


async def test_time_limit_expiry_and_late_answers(
    make_service: Callable[..., InterviewService], clock: Clock, store: Store
) -> None:
    service = make_service(time_limit_s=60)
    session = await service.start("u1", area="mlops", questions=3)
    q1, q2, q3 = session.questions
    assert await service.expire(session.id, now=START + timedelta(seconds=59)) is None
    assert not service.is_due(session)  # what the Discord timer checks before expiring

    step = await service.expire(session.id, now=START + timedelta(seconds=61))
    assert step is not None and not step.finished
    [fb] = step.released
    assert fb.number == 1 and fb.outcome is Outcome.timeout and fb.verdict is Verdict.incorrect and fb.score == 0
    assert fb.feedback.startswith("No answer in time") and fb.model_answer == " ".join(q1.key_points)
    # The next window starts when the last one was closed.
    assert step.prompt is not None and step.prompt.number == 2
    assert step.prompt.deadline == START + timedelta(seconds=121)

    # An answer after its window closed is refused; the question is recorded as unanswered and skipped.
    clock.advance(200)
    assert service.is_due(await service.load(session.id))
    with pytest.raises(AnswerTooLate, match="1 min"):
        await service.answer(session.id, "u1", good(q2))
    session = await service.load(session.id)
    assert session.index == 2 and [r.outcome for r in session.results] == [Outcome.timeout, Outcome.timeout]

    # A follow-up that runs out keeps the first answer's result.
    step = await service.answer(session.id, "u1", weak(q3))
    assert step.follow_up is not None
    step = await service.expire(session.id, now=clock.now + timedelta(seconds=61))
    assert step is not None and step.finished
    [fb] = step.released
    assert fb.outcome is Outcome.answered and fb.covered == [q3.key_points[0]] and fb.follow_up is not None
    assert fb.follow_up_outcome is Outcome.timeout and fb.feedback.startswith("No follow-up answer in time")
    [card] = step.scorecards
    line = next(x for x in card.summary_lines() if x.startswith(f"  Q{fb.number} "))
    assert line.endswith("(follow-up: no answer in time)") and "with a follow-up" not in line
    attempts = await store.attempts("u1")
    assert [a.item_id for a in attempts] == [q3.id]  # only graded answers count as attempts
    assert await service.expire(session.id, now=clock.now + timedelta(days=1)) is None


async def test_a_skipped_follow_up_shows_as_skipped_and_the_first_answer_counts(service: InterviewService) -> None:
    session = await service.start("u1", "Ann", area="algorithms", level="junior", questions=3)
    q1 = session.questions[0]
    step = await service.answer(session.id, "u1", weak(q1))
    assert step.follow_up is not None
    step = await service.skip(session.id, "u1")
    fb = step.feedback
    assert fb is not None and fb.outcome is Outcome.answered and q1.key_points[0] in fb.covered
    assert fb.follow_up_outcome is Outcome.skipped and fb.feedback.startswith("Follow-up skipped: your first answer")
    assert fb.follow_up_feedback == ""
    step = await service.answer(session.id, "u1", good(session.questions[1]))
    step = await service.answer(session.id, "u1", good(session.questions[2]))
    [card] = step.scorecards
    assert [i.follow_up_note for i in card.items] == [" (follow-up skipped)", "", ""]
    assert "with a follow-up" not in "\n".join(card.summary_lines())
    stored = await service.load(session.id)  # the outcome survives the database round trip
    assert [r.follow_up_outcome for r in stored.results] == [Outcome.skipped, None, None]


async def test_giving_up_on_a_follow_up_counts_as_skipping_it(service: InterviewService) -> None:
    """ "No idea." to a follow-up is not graded as an answer that was "not right yet": the first answer counts."""
    session = await service.start("u1", "Ann", area="algorithms", level="junior", questions=3)
    q1 = session.questions[0]
    step = await service.answer(session.id, "u1", weak(q1))
    assert step.follow_up is not None
    step = await service.answer(session.id, "u1", "No idea, sorry.")
    fb = step.feedback
    assert fb is not None and fb.follow_up_outcome is Outcome.skipped and fb.follow_up_summary == "Skipped."
    assert fb.feedback.startswith("Follow-up not answered: your first answer counts.")
    assert q1.key_points[0] in fb.covered


def test_a_wrong_claim_in_the_follow_up_is_reported_and_rules_out_correct() -> None:
    q = BANK[0]
    sources = [source_of(q)]
    first = Grade(Verdict.partial, 0.5, q.key_points[:-1], [q.key_points[-1]], [], "", "model", sources)
    said = "the opposite of the last key point"
    follow = Grade(
        Verdict.partial, 0.5, [q.key_points[-1]], q.key_points[:-1], [], "", "model", sources,
        wrong=[WrongClaim(said, q.key_points[0])],
    )  # fmt: skip
    combined = combine_grades(q, first, follow)
    assert combined.covered == q.key_points and combined.verdict is Verdict.partial
    assert f"You said “{said}”" in combined.feedback and combined.wrong == follow.wrong
    own = follow_up_feedback(first, follow)
    assert own.startswith("Your follow-up added: ") and f"In it you said “{said}”" in own
    assert AnswerFeedback.from_dict({**_stored_result(), "follow_up": "Why?"}).follow_up_outcome is Outcome.answered
    assert AnswerFeedback.from_dict(_stored_result()).follow_up_outcome is None


async def test_a_follow_up_that_a_card_asks_is_graded_on_that_card_not_on_the_main_question(
    store: Store, embedder: Embedder, card_index: CardIndex, clock: Clock
) -> None:
    """A follow-up asking something else ("How would you find the users who have no orders?" after a
    question on why a LEFT JOIN grows) gets its own grade; a wrong first answer is never made correct by
    it (graded on the main rubric, an anti-join answer was credited with the main question's points)."""
    grader = Grader(embedder, quiz=load_quiz_items(KNOWLEDGE), interview=BANK, cards=card_index)
    [q] = [i for i in BANK if i.follow_ups == ["How would you find the users who have no orders?"]]
    others = [i for i in BANK if i.level is Level.senior][:2]  # asked after the junior question
    service = InterviewService(store, grader, [q, *others], seed=7, clock=clock)
    own = await grader.arubric_for_follow_up(q.follow_ups[0])
    assert own is not None and own.item_id != q.id and any("NOT EXISTS" in p for p in own.key_points)
    anti_join = (
        "I'd write an anti-join: NOT EXISTS with a subquery on orders for that user, or a LEFT JOIN to orders "
        "keeping rows where the order's user id IS NULL. Both keep just the users whose lookup found no order. "
        "I would avoid NOT IN, because one NULL in the subquery makes it return no rows at all."
    )
    for user, first_answer in [
        ("u1", "The join is slow because the orders table has no index on user_id."),
        ("u2", q.key_points[0]),
    ]:
        session = await service.start(user, "Ann", questions=3)
        assert session.questions[0] is q
        step = await service.answer(session.id, user, first_answer)
        assert step.follow_up is not None and step.follow_up.text == q.follow_ups[0]
        first_score = step.session.slots[0].first["score"]  # type: ignore[index]
        step = await service.answer(session.id, user, anti_join)
        fb = step.feedback
        assert fb is not None and fb.follow_up_outcome is Outcome.answered
        # The follow-up's own grade, on the anti-join card: right, and said as such.
        assert fb.follow_up_feedback.startswith("Correct"), fb.follow_up_feedback
        assert "Read:" not in fb.follow_up_feedback  # the card's section is the main question's: named once
        # The main question's points are the first answer's alone; the follow-up lifts the score.
        assert [p for p in fb.covered if p in q.key_points] == fb.covered and fb.score > first_score
        assert "your follow-up answer was right" in fb.feedback
        assert fb.verdict is (Verdict.partial if user == "u1" else Verdict.correct), fb.feedback
    # Skipping such a follow-up still shows as skipped.
    session = await service.start("u3", "Ann", questions=3)
    await service.answer(session.id, "u3", q.key_points[0])
    step = await service.skip(session.id, "u3")
    assert step.feedback is not None and step.feedback.follow_up_summary == "Skipped."


def test_with_a_follow_up_of_its_own_a_wrong_first_answer_is_never_correct() -> None:
    q = BANK[0]
    sources = [source_of(q)]
    first = Grade(Verdict.incorrect, 0.3, q.key_points[:1], q.key_points[1:], [], "", "model", sources)
    follow = Grade(Verdict.correct, 1.0, ["a"], [], [], "Correct.", "model", ["x"])
    combined = with_follow_up(q, first, follow)
    assert combined.verdict is Verdict.partial and combined.score == pytest.approx(0.65)
    assert combined.covered == q.key_points[:1] and combined.missed == q.key_points[1:]
    assert combined.feedback.startswith(f"Partly right: your answer covered 1 of {len(q.key_points)} key points")
    first = Grade(Verdict.partial, 0.5, q.key_points[:1], q.key_points[1:], [], "", "model", sources)
    assert with_follow_up(q, first, follow).verdict is Verdict.correct  # 0.5 + 0.5 * 0.5 = 0.75
    wrong = Grade(Verdict.incorrect, 0.0, [], ["a"], [], "", "m", ["x"], wrong=[WrongClaim("said", "a")])
    mixed = with_follow_up(q, first, wrong)
    assert mixed.verdict is Verdict.partial and mixed.score == pytest.approx(0.5) and mixed.wrong == wrong.wrong


def _stored_result() -> dict[str, object]:
    """A result as stored before follow-ups had an outcome of their own."""
    return {
        "session_id": "s", "number": 1, "question_id": "q", "question": "Q?", "topic": "t", "user_id": "u",
        "name": "", "verdict": "partial", "score": 0.5, "covered": [], "missed": [], "red_flags": [],
        "feedback": "", "model_answer": "", "sources": [], "outcome": "answered", "follow_up": None,
        "answered_at": "2026-12-01T10:00:00+00:00",
    }  # fmt: skip


async def test_end_early_keeps_what_was_answered(service: InterviewService, store: Store) -> None:
    session = await service.start("a", "Ada", area="evaluation", questions=4, group=True, mode="same")
    await service.join(session.id, "b", "Bob")
    session = await service.begin(session.id, "a")
    q1, q2 = session.questions[:2]
    await service.answer(session.id, "a", good(q1))
    await service.answer(session.id, "b", good(q1))
    step = await service.answer(session.id, "a", weak(q2))
    assert step.follow_up is not None  # Ada's follow-up is open; Bob has not answered q2

    with pytest.raises(NotSessionOwner):
        await service.end(session.id, "b")
    cards = {c.user_id: c for c in await service.end(session.id, "a")}
    assert [i.number for i in cards["a"].items] == [1, 2] and [i.number for i in cards["b"].items] == [1]
    assert all(c.status is SessionStatus.abandoned for c in cards.values())
    assert cards["a"].items[1].verdict is not Verdict.correct and cards["a"].read_next == [source_of(q2)]
    assert "ended early" in cards["a"].summary_lines()[0]

    record = await store.load_session(session.id)
    assert record is not None and record.status == "abandoned"
    assert await service.active_for("a") == []
    with pytest.raises(SessionFinished):
        await service.answer(session.id, "b", good(q2))
    with pytest.raises(SessionFinished):
        await service.end(session.id, "a")
    assert [a.item_id for a in await store.attempts("a")] == [q1.id, q2.id]


async def test_a_restart_continues_at_the_same_question(
    service: InterviewService, grader: Grader, db_url: str, clock: Clock
) -> None:
    session = await service.start("u1", "Ann", topic="data-leakage", questions=3, channel_id="chan")
    q1, q2, q3 = session.questions
    await service.answer(session.id, "u1", good(q1))
    step = await service.answer(session.id, "u1", weak(q2))
    assert step.follow_up is not None

    # A new process: a new Store and a new service over the same database.
    store2 = Store(db_url)
    try:
        service2 = InterviewService(store2, grader, BANK, clock=clock)
        [active] = await service2.active_for("u1")
        assert active.id == session.id and await service2.active_for("someone-else") == []
        assert [s.id for s in await service2.active_for(channel_id="chan")] == [session.id]
        restored = await service2.load(session.id)
        assert restored.to_dict() == step.session.to_dict()
        prompt = restored.current_prompt()
        assert prompt is not None and prompt.is_follow_up and prompt.text == step.follow_up.text
        assert prompt.number == 2 and prompt.question == q2.question

        step = await service2.answer(session.id, "u1", " ".join(q2.key_points[1:]))
        assert step.feedback is not None and step.feedback.covered == q2.key_points
        step = await service2.answer(session.id, "u1", good(q3))
        assert step.finished and [i.number for i in step.scorecards[0].items] == [1, 2, 3]
        assert len(await store2.attempts("u1")) == 3
    finally:
        await store2.close()
    with pytest.raises(SessionNotFound):
        await service.load("no-such-session")
    with pytest.raises(SessionNotFound):
        InterviewSession.from_dict({"id": "x"})


# --- the terminal ---------------------------------------------------------------------------------


def _console(lines: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None, force_terminal=False)
    feed = iter(lines)

    def fake_input(prompt: str = "", **_: object) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(console, "input", fake_input)
    return console, out


SVM = "Support vector machines and the kernel trick"


def _terminal_services(service: InterviewService) -> SimpleNamespace:
    return SimpleNamespace(interviews=service, topics=load_topics(KNOWLEDGE))


async def test_terminal_flow_runs_a_whole_interview(
    make_service: Callable[..., InterviewService], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service(seed=3)
    q1, q2, q3 = select_questions(BANK, random.Random(3), count=3, area="algorithms", level="junior")[0]
    # Answers span lines and an empty line sends them; an empty answer is explained.
    half = len(q1.key_points) // 2
    first, rest = " ".join(q1.key_points[:half]), " ".join(q1.key_points[half:])
    lines = ["", "/help", first, rest, "", weak(q2), "", " ".join(q2.key_points[1:]), "", "/skip"]
    console, out = _console(lines, monkeypatch)
    # `topic` may name a whole area.
    await run_interview(
        _terminal_services(service),
        console,
        topic="algorithms",
        level="junior",
        questions=3,
        user_id="cli:test",
        user_name="Tess",
    )
    text = out.getvalue()
    assert "Mock interview" in text and "empty" in text and "/skip" in text and "an empty line sends it" in text
    assert q1.question[:40] in text and q3.question[:40] in text and "follow-up" in text and "Model answer" in text
    assert "Interview complete" in text and "Scorecard: Tess" in text and "skipped" in text and "overall" in text
    [record] = await service.store.sessions(kind="interview", status="finished")
    assert record.owner_id == "cli:test"
    [attempt, *_] = await service.store.attempts("cli:test")
    assert attempt.item_id == q1.id and attempt.score == 1.0  # both lines of the first answer were graded


async def test_terminal_flow_bad_options_and_a_paused_interview_carried_on(
    service: InterviewService, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    console, out = _console([], monkeypatch)
    await run_interview(_terminal_services(service), console, topic=None, level="guru", questions=5)
    assert "junior, mid or senior" in out.getvalue()

    # The input ends (Ctrl-D) at the first question: the interview is saved, not ended.
    console, out = _console([], monkeypatch)
    with pytest.raises(LeaveRequested):
        await run_interview(_terminal_services(service), console, topic="svm", questions=3, user_id="cli:eof")
    text = out.getvalue()
    assert f"Saved your mock interview on {SVM}, at question 1 of 3" in text
    assert "studybot interview" in text and "Scorecard" not in text and "Traceback" not in text
    [paused] = await service.active_for("cli:eof")
    question = paused.questions[0]

    # Long after, with no option: the same interview carries on, with a whole answer window again.
    clock.advance(3600)
    console, out = _console([good(question), "", "/end"], monkeypatch)
    await run_interview(_terminal_services(service), console, user_id="cli:eof")
    text = out.getvalue()
    assert f"Carrying on with your mock interview on {SVM}, at question 1 of 3" in text
    assert question.question[:40] in text and "Time ran out" not in text and "ended early" in text.lower()
    [record] = await service.store.sessions(kind="interview", status="abandoned")
    assert record.id == paused.id
    assert [a.item_id for a in await service.store.attempts("cli:eof")] == [question.id]


async def test_terminal_options_start_a_new_interview_in_place_of_a_paused_one(
    service: InterviewService, monkeypatch: pytest.MonkeyPatch
) -> None:
    console, _ = _console([], monkeypatch)
    with pytest.raises(LeaveRequested):
        await run_interview(_terminal_services(service), console, topic="svm", questions=3, user_id="cli:new")
    [paused] = await service.active_for("cli:new")

    console, out = _console(["/end"], monkeypatch)  # options given: a new interview
    await run_interview(_terminal_services(service), console, area="algorithms", questions=3, user_id="cli:new")
    text = out.getvalue()
    assert "Carrying on" not in text and f"Your unfinished mock interview on {SVM}, at question 1 of 3" in text
    assert (await service.load(paused.id)).status is SessionStatus.abandoned
    assert await service.active_for("cli:new") == []

    # Options that match nothing leave a paused interview alone.
    console, _ = _console([], monkeypatch)
    with pytest.raises(LeaveRequested):
        await run_interview(_terminal_services(service), console, topic="svm", questions=3, user_id="cli:new")
    console, out = _console([], monkeypatch)
    await run_interview(_terminal_services(service), console, topic="quantum", user_id="cli:new")
    assert "quantum" in out.getvalue() and len(await service.active_for("cli:new")) == 1


async def test_resume_gives_a_solo_interview_a_new_answer_window(service: InterviewService, clock: Clock) -> None:
    session = await service.start("u1", "Ann", topic="svm", questions=3)
    clock.advance(1000)  # past the 300 s window
    resumed = await service.resume(session.id, "u1")
    assert [s.deadline for s in resumed.slots] == [clock.now + timedelta(seconds=300)]
    step = await service.answer(session.id, "u1", good(session.questions[0]))
    assert step.feedback is not None and step.feedback.outcome is Outcome.answered
    with pytest.raises(NotSessionOwner):
        await service.resume(session.id, "someone-else")
    group = await service.start("u1", "Ann", topic="svm", questions=3, group=True)
    with pytest.raises(InvalidSessionOptions):
        await service.resume(group.id, "u1")
    await service.end(session.id, "u1")
    with pytest.raises(SessionFinished):
        await service.resume(session.id, "u1")
