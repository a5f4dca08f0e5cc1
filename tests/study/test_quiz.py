"""Quiz sessions and spaced repetition over the real banks, grader and store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.study.banks import QuizItem, QuizType, load_interview_questions, load_notes, load_quiz_items
from bot.study.embedding import Embedder
from bot.study.errors import InvalidAnswer, NoQuizItems, SessionFinished
from bot.study.grading import Grader
from bot.study.quiz import LETTERS, NothingDue, QuizService, check_exact, parse_choice_letters
from bot.study.store import Store

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
ITEMS = load_quiz_items(KNOWLEDGE)


def _right(item: QuizItem) -> str:
    if item.type is QuizType.mcq:
        assert isinstance(item.answer, int)
        return LETTERS[item.answer]
    if item.type is QuizType.multi:
        assert isinstance(item.answer, list)
        return ",".join(LETTERS[i] for i in item.answer)
    if item.type is QuizType.true_false:
        return "true" if item.answer else "false"
    return str(item.answer)


def _wrong(item: QuizItem) -> str:
    if item.type is QuizType.mcq:
        assert isinstance(item.answer, int)
        return LETTERS[(item.answer + 1) % len(item.choices)]
    if item.type is QuizType.multi:
        assert isinstance(item.answer, list)
        return next(LETTERS[i] for i in range(len(item.choices)) if i not in item.answer)
    if item.type is QuizType.true_false:
        return "false" if item.answer else "true"
    return "I have no idea, sorry."


@pytest.fixture
async def quizzes(tmp_path: Path, embedder: Embedder) -> QuizService:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/q.db")
    notes = load_notes(KNOWLEDGE)
    grader = Grader(
        embedder, quiz=ITEMS, interview=load_interview_questions(KNOWLEDGE), titles=lambda path: notes[path].title
    )
    service = QuizService(store, grader, ITEMS, seed=7)
    yield service  # type: ignore[misc]
    await store.close()


def test_parsing_letters_and_exact_grading() -> None:
    mcq = next(i for i in ITEMS if i.type is QuizType.mcq and len(i.choices) == 4)
    assert parse_choice_letters(mcq, "b") == [1] and parse_choice_letters(mcq, "3") == [2]
    with pytest.raises(InvalidAnswer, match="A to D"):
        parse_choice_letters(mcq, "E")
    with pytest.raises(InvalidAnswer, match="exactly one"):
        check_exact(mcq, "A,B")
    multi = next(i for i in ITEMS if i.type is QuizType.multi)
    assert check_exact(multi, _right(multi)) == (True, 1.0)
    assert isinstance(multi.answer, list)
    one_right = LETTERS[multi.answer[0]]
    ok, score = check_exact(multi, one_right)
    assert not ok and 0 < score < 1  # partial credit, never "correct"
    tf = next(i for i in ITEMS if i.type is QuizType.true_false)
    assert check_exact(tf, _right(tf))[0] and not check_exact(tf, _wrong(tf))[0]
    with pytest.raises(InvalidAnswer):
        check_exact(tf, "maybe")


async def test_filters_and_counts(quizzes: QuizService) -> None:
    session = await quizzes.start("u1", "Ada", topic="regularization", count=3)
    picked = [quizzes.item(i) for i in session.item_ids]
    assert len(picked) == 3 and {i.topic for i in picked} == {"regularization"}
    spread = await quizzes.start("u1", area="math", difficulty="easy", count=5)
    items = [quizzes.item(i) for i in spread.item_ids]
    assert all(i.area == "math" and i.difficulty.value == "easy" for i in items)
    assert len({i.topic for i in items}) >= 4  # spread over the area's topics
    only_tf = await quizzes.start("u1", types=["true_false"], count=4)
    assert {quizzes.item(i).type for i in only_tf.item_ids} == {QuizType.true_false}
    with pytest.raises(NoQuizItems):
        await quizzes.start("u1", topic="no-such-topic")
    with pytest.raises(InvalidAnswer):
        await quizzes.start("u1", count=0)


async def test_a_whole_quiz_with_explanations_and_summary(quizzes: QuizService) -> None:
    session = await quizzes.start("u1", "Ada", area="evaluation", types=["mcq", "true_false", "multi"], count=4)
    results = []
    for n in range(session.total):
        item = quizzes.shown(session, n)
        results.append(await quizzes.answer(session.id, "u1", _right(item) if n % 2 == 0 else _wrong(item)))
    assert [r.correct for r in results] == [True, False, True, False]
    assert all(r.explanation and " > " in r.source and ".md" not in r.source for r in results)
    assert results[1].right_answer  # a wrong answer is shown the right one
    finished = await quizzes.load(session.id)
    assert finished.finished
    summary = quizzes.summary(finished)
    assert (summary.answered, summary.correct) == (4, 2) and len(summary.to_review) == 2
    with pytest.raises(SessionFinished):
        await quizzes.answer(session.id, "u1", "A")
    attempts = await quizzes.store.attempts("u1")
    assert [a.correct for a in attempts] == [True, False, True, False]
    # Each answer is one review on the learner's schedule: rated (good / again) and timed.
    logs = await quizzes.store.review_logs("u1")
    assert [(r.item_id, r.rating, r.kind) for r in logs] == [
        (a.item_id, 3 if a.correct else 1, "quiz") for a in attempts
    ]
    assert all(r.review_duration is not None and 0 <= r.review_duration < 60_000 for r in logs)


async def test_short_answers_are_graded_by_meaning(quizzes: QuizService) -> None:
    item = next(i for i in ITEMS if i.type is QuizType.short)
    session = await quizzes.start("u1", topic=item.topic, types=["short"], count=1)
    item = quizzes.item(session.item_ids[0])
    with pytest.raises(InvalidAnswer):
        await quizzes.answer(session.id, "u1", "   ")
    good = await quizzes.answer(session.id, "u1", " ".join(item.key_points))
    assert good.correct and good.verdict == "correct" and not good.missed


async def test_restart_mid_quiz_resumes_where_it_was(quizzes: QuizService, embedder: Embedder) -> None:
    session = await quizzes.start("u1", types=["mcq"], count=3)
    await quizzes.answer(session.id, "u1", _right(quizzes.shown(session, 0)))
    # A new process: new service objects over the same database file.
    store = Store(quizzes.store.url)
    fresh = QuizService(store, quizzes.grader, ITEMS)
    resumed = await fresh.active_for("u1")
    assert resumed is not None and resumed.id == session.id and resumed.index == 1
    assert resumed.orders == session.orders  # the same letters mean the same choices after a restart
    result = await fresh.answer(session.id, "u1", _right(fresh.shown(resumed)))
    assert result.correct
    await store.close()


async def test_only_the_owner_answers_a_solo_quiz(quizzes: QuizService) -> None:
    session = await quizzes.start("u1", count=1, types=["mcq"])
    with pytest.raises(InvalidAnswer, match="someone else"):
        await quizzes.answer(session.id, "u2", "A")


async def test_a_double_click_records_one_answer(quizzes: QuizService) -> None:
    """Two submissions of the same question at once: one is graded, the other refused, none skipped."""
    session = await quizzes.start("u1", types=["mcq"], count=2)
    first = quizzes.shown(session, 0)
    outcomes = await asyncio.gather(
        quizzes.answer(session.id, "u1", _right(first)),
        quizzes.answer(session.id, "u1", _wrong(first)),
        return_exceptions=True,
    )
    # Either may win the race (under load the second often does); exactly one is graded and recorded.
    graded = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, InvalidAnswer)]
    assert len(graded) == 1 and len(refused) == 1 and "already answered" in str(refused[0])
    attempts = await quizzes.store.attempts("u1")
    assert [a.item_id for a in attempts] == [first.id]
    assert attempts[0].correct == graded[0].correct  # the answer recorded is the one that was graded
    resumed = await quizzes.load(session.id)
    assert resumed.index == 1 and resumed.results[1] == {}  # the second question was not skipped


async def test_channel_mode_ranks_everyone(quizzes: QuizService) -> None:
    session = await quizzes.start("host", count=2, types=["mcq"], channel=True, group_id="g1")
    for n in range(session.total):
        item = quizzes.shown(session, n)
        await quizzes.answer(session.id, "a", _right(item), "Ada")
        await quizzes.answer(session.id, "b", _wrong(item), "Bo")
        with pytest.raises(InvalidAnswer, match="already answered"):
            await quizzes.answer(session.id, "a", _right(item))
        session = await quizzes.advance(session.id)
    assert session.finished
    ranking = quizzes.summary(session).ranking
    assert [(user, points) for user, points, _ in ranking] == [("a", 2.0), ("b", 0.0)]


async def test_review_serves_due_items_first_then_weak_topics(quizzes: QuizService) -> None:
    session = await quizzes.start("u1", topic="calibration", types=["mcq", "true_false"], count=2)
    missed = quizzes.shown(session, 0)
    await quizzes.answer(session.id, "u1", _wrong(missed))
    await quizzes.answer(session.id, "u1", _right(quizzes.shown(session, 1)))
    # The missed item comes back within minutes; the one answered right a little later.
    later = datetime.now(UTC) + timedelta(hours=1)
    assert missed.id in await quizzes.store.due_items("u1", later)
    card = await quizzes.store.card("u1", missed.id)
    assert card is not None and card["due"]
    review = await quizzes.review("u1", count=4, at=later)  # an hour later
    assert review.mode == "review" and review.item_ids[0] == missed.id
    assert len(review.item_ids) == 4
    weak_topics = {quizzes.item(i).topic for i in review.item_ids[1:]}
    assert "calibration" in weak_topics  # the learner's weakest attempted topic comes next
    # Each item says why it is there: due since when, or from which weak topic at what mastery.
    reasons = [quizzes.reason(review, i) for i in range(review.total)]
    first = reasons[0]
    assert first is not None and first.kind == "due" and first.topic == "calibration"
    assert first.due_since is not None and first.due_since <= later
    weak = [r for r in reasons if r is not None and r.kind == "weak"]
    assert weak and all(r.topic == "calibration" and r.mastery == pytest.approx(0.25, abs=0.01) for r in weak)
    assert all(r is not None for r in reasons)
    resumed = await quizzes.load(review.id)  # the reasons are saved with the session
    assert quizzes.reason(resumed, 0) == first


async def test_a_review_with_nothing_due_offers_weak_topics_instead_of_random_questions(quizzes: QuizService) -> None:
    with pytest.raises(NothingDue) as new_learner:
        await quizzes.review("new", count=10)
    assert new_learner.value.offer.answered == 0 and "first quiz" in str(new_learner.value)
    assert await quizzes.resumable("new") is None  # no ten questions on topics never chosen

    session = await quizzes.start("u1", topic="calibration", types=["mcq", "true_false"], count=2)
    await quizzes.answer(session.id, "u1", _wrong(quizzes.shown(session, 0)))
    await quizzes.answer(session.id, "u1", _right(quizzes.shown(session, 1)))
    before = datetime.now(UTC) - timedelta(seconds=5)  # nothing has come due yet
    with pytest.raises(NothingDue) as nothing:
        await quizzes.review("u1", at=before)
    offer = nothing.value.offer
    assert offer.answered == 2 and [t for t, _ in offer.weakest] == ["calibration"]
    assert offer.next_due is not None and offer.next_due > before
    # The offered topic makes a review of its own, each item saying where it comes from.
    topic_review = await quizzes.review("u1", count=3, topic="calibration", at=before)
    assert topic_review.total == 3 and {quizzes.item(i).topic for i in topic_review.item_ids} == {"calibration"}
    reasons = [quizzes.reason(topic_review, i) for i in range(3)]
    assert all(r is not None and r.kind == "weak" and r.mastery is not None for r in reasons)
    with pytest.raises(InvalidAnswer):
        await quizzes.review("u1", count=0)
    with pytest.raises(NoQuizItems):
        await quizzes.review("u1", topic="no-such-topic")


async def test_choices_are_shuffled_per_session_and_graded_as_shown(quizzes: QuizService) -> None:
    sessions = [await quizzes.start(f"u{n}", types=["mcq", "multi"], count=8) for n in range(3)]
    moved = 0
    for session in sessions:
        for n, item_id in enumerate(session.item_ids):
            bank, shown = quizzes.item(item_id), quizzes.shown(session, n)
            assert sorted(shown.choices) == sorted(bank.choices)  # the same choices, another order
            moved += shown.choices != bank.choices
            if shown.type is QuizType.mcq:  # the shown answer is the bank's right choice
                assert isinstance(shown.answer, int) and isinstance(bank.answer, int)
                assert shown.choices[shown.answer] == bank.choices[bank.answer]
    assert moved >= 12, "choices keep the authored order"
    first = sessions[0]
    result = await quizzes.answer(first.id, "u0", _right(quizzes.shown(first, 0)))
    assert result.correct and result.right_answer.split(". ", 1)[0] in _right(quizzes.shown(first, 0))
    # Another session of the same items shows another order somewhere.
    again = await quizzes._open("u9", "", first.item_ids, "quiz", False, None, None)
    assert again.orders != first.orders


def test_the_right_choice_is_not_given_away_by_its_length() -> None:
    """Over every single-answer item: the right option is strictly the longest no more often than about
    chance (one in the number of options), and not avoided either (never the longest would also tell)."""
    mcq = [i for i in ITEMS if i.type is QuizType.mcq]
    longest = shortest = 0
    for item in mcq:
        assert isinstance(item.answer, int)
        right, others = len(item.choices[item.answer]), [len(c) for n, c in enumerate(item.choices) if n != item.answer]
        longest += right > max(others)
        shortest += right < min(others)
    assert len(mcq) >= 200
    assert 0.10 <= longest / len(mcq) <= 0.30, f"right option strictly longest in {longest} of {len(mcq)}"
    assert shortest / len(mcq) <= 0.30, f"right option strictly shortest in {shortest} of {len(mcq)}"


async def test_skip_then_review_what_was_missed_and_a_new_quiz_like_it(quizzes: QuizService) -> None:
    session = await quizzes.start("u1", "Ann", topic="sql", count=3)
    first, second, third = (quizzes.shown(session, i) for i in range(3))
    await quizzes.answer(session.id, "u1", _right(first))
    assert (await quizzes.resumable("u1")).id == session.id  # type: ignore[union-attr]
    session = await quizzes.skip(session.id, 1)
    assert session.index == 2 and session.results[1] == {}
    assert (await quizzes.skip(session.id, 1)).index == 2  # a second skip of the same question does nothing
    await quizzes.answer(session.id, "u1", _wrong(third))
    done = await quizzes.load(session.id)
    summary = quizzes.summary(done)
    assert done.finished and (summary.total, summary.answered, summary.correct) == (3, 2, 1)
    assert await quizzes.resumable("u1") is None
    assert [a.item_id for a in await quizzes.store.attempts("u1")] == [first.id, third.id]  # a skip records nothing

    again = await quizzes.missed_again(session.id, "Ann")
    assert again.mode == "review" and again.item_ids == [second.id, third.id]  # skipped and wrong, in order
    assert [r.kind for r in (quizzes.reason(again, 0), quizzes.reason(again, 1)) if r] == ["skipped", "missed"]
    like = await quizzes.another_like(session.id, "Ann")
    assert like.total == 3 and {quizzes.item(i).topic for i in like.item_ids} == {"sql"}
    assert (await quizzes.resumable("u1")) is not None  # the newest unfinished one

    perfect = await quizzes.start("u2", "Bo", topic="sql", count=1)
    await quizzes.answer(perfect.id, "u2", _right(quizzes.shown(perfect)))
    with pytest.raises(NoQuizItems, match="missed nothing"):
        await quizzes.missed_again(perfect.id)


async def test_a_quiz_result_names_its_source_by_title_and_section(quizzes: QuizService) -> None:
    session = await quizzes.start("u1", topic="sql", count=1)
    result = await quizzes.answer(session.id, "u1", _right(quizzes.shown(session)))
    assert ".md" not in result.source and " > " in result.source
