"""Flashcards over the real answer cards and a real store: selection, fsrs scheduling, review logs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Rating

from bot.study.banks import load_cards, load_notes, load_topics
from bot.study.errors import InvalidAnswer, InvalidSessionOptions, NoFlashcards, SessionFinished
from bot.study.flashcards import FlashcardService, interval_text, parse_rating
from bot.study.progress import ProgressService
from bot.study.store import AttemptRecord, Store

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
CARDS = load_cards(KNOWLEDGE)
TOPICS = load_topics(KNOWLEDGE)
NOTES = load_notes(KNOWLEDGE)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def flashcards(tmp_path: Path) -> AsyncIterator[FlashcardService]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/f.db")
    yield FlashcardService(store, CARDS, TOPICS, lambda note, section: f"{NOTES[note].title} > {section}")
    await store.close()


def test_ratings_and_intervals_read_as_learners_type_and_see_them() -> None:
    assert (
        parse_rating("Good") is Rating.Good and parse_rating("e") is Rating.Easy and parse_rating("1") is Rating.Again
    )
    with pytest.raises(InvalidAnswer):
        parse_rating("maybe")
    assert [interval_text(timedelta(seconds=s)) for s in (20, 600, 7200, 3 * 86400, 65 * 86400, 550 * 86400)] == [
        "1m", "10m", "2h", "3d", "2mo", "1.5y",
    ]  # fmt: skip


async def test_a_topic_session_shows_new_cards_basics_first_with_titles_not_paths(
    flashcards: FlashcardService,
) -> None:
    session = await flashcards.start("cli:ann", "Ann", topic="bias-variance", count=3, at=T0)
    written = [c.id for c in CARDS if c.topic == "bias-variance"]
    assert session.card_ids == written[:3]
    card = flashcards.card(session)
    assert card.reason == "new" and card.topic == TOPICS.title_of("bias-variance")
    assert ".md" not in card.source and " > " in card.source and card.answer.startswith(CARDS[0].answer[:20])


async def test_rating_schedules_the_card_logs_its_duration_and_makes_it_due_again(
    flashcards: FlashcardService,
) -> None:
    session = await flashcards.start("cli:ann", "Ann", topic="bias-variance", count=2, at=T0)
    first, second = session.card_ids
    await flashcards.reveal(session.id, "cli:ann")
    previews = await flashcards.intervals("cli:ann", first, T0 + timedelta(seconds=12))
    assert set(previews) == {Rating.Again, Rating.Hard, Rating.Good, Rating.Easy}
    rated = await flashcards.rate(session.id, "cli:ann", Rating.Again, index=0, at=T0 + timedelta(seconds=12))
    assert rated.interval == previews[Rating.Again] and rated.session.index == 1 and not rated.session.revealed
    easy = await flashcards.rate(session.id, "cli:ann", Rating.Easy, index=1, at=T0 + timedelta(seconds=40))
    assert easy.session.finished and easy.due > rated.due + timedelta(days=1)

    logs = await flashcards.store.review_logs("cli:ann")
    assert [(r.item_id, r.rating, r.kind, r.review_duration) for r in logs] == [
        (first, 1, "flashcard", 12_000), (second, 4, "flashcard", 28_000),
    ]  # fmt: skip
    summary = await flashcards.summary(easy.session)
    assert summary.rated == 2 and summary.counts == {"Again": 1, "Hard": 0, "Good": 0, "Easy": 1}
    assert summary.next_due == rated.due

    counts = await flashcards.due("cli:ann", at=T0 + timedelta(hours=1))
    assert (counts.now, counts.today) == (1, 1)  # the forgotten card; the easy one is days away
    again = await flashcards.start("cli:ann", topic="bias-variance", count=3, at=T0 + timedelta(hours=1))
    assert again.card_ids[0] == first and again.reasons[first] == "due"
    assert second not in again.card_ids  # not due, and no longer new


async def test_a_stale_button_a_stranger_and_a_finished_session_are_refused(flashcards: FlashcardService) -> None:
    session = await flashcards.start("cli:ann", topic="bias-variance", count=1, at=T0)
    with pytest.raises(InvalidAnswer, match="someone else"):
        await flashcards.rate(session.id, "cli:bob", Rating.Good, index=0)
    with pytest.raises(InvalidAnswer, match="already rated"):
        await flashcards.rate(session.id, "cli:ann", Rating.Good, index=1)
    await flashcards.rate(session.id, "cli:ann", Rating.Good, index=0, at=T0 + timedelta(seconds=5))
    with pytest.raises(SessionFinished):
        await flashcards.rate(session.id, "cli:ann", Rating.Good)
    assert len(await flashcards.store.review_logs("cli:ann")) == 1


async def test_a_paused_session_carries_on_and_time_away_is_not_review_time(flashcards: FlashcardService) -> None:
    session = await flashcards.start("cli:ann", topic="bias-variance", count=3, at=T0)
    await flashcards.rate(session.id, "cli:ann", Rating.Good, index=0, at=T0 + timedelta(seconds=8))
    # Stopping writes nothing: the open session is the paused one.
    paused = await flashcards.resumable("cli:ann")
    assert paused is not None and paused.id == session.id and paused.index == 1
    await flashcards.resume(paused, at=T0 + timedelta(days=2))
    await flashcards.rate(session.id, "cli:ann", Rating.Hard, index=1, at=T0 + timedelta(days=2, seconds=9))
    assert [r.review_duration for r in await flashcards.store.review_logs("cli:ann")] == [8_000, 9_000]
    await flashcards.end(session.id)
    assert await flashcards.resumable("cli:ann") is None


async def test_new_cards_come_from_the_weakest_tried_topic_and_nothing_left_is_said_plainly(
    flashcards: FlashcardService,
) -> None:
    store = flashcards.store
    await store.ensure_user("cli:ann", "Ann")
    for topic, score in (("clustering", 0.0), ("bias-variance", 1.0)):
        await store.record_attempt(
            AttemptRecord("cli:ann", f"x-{topic}", "quiz", "algorithms", topic, score, score > 0.5, T0)
        )
    session = await flashcards.start("cli:ann", count=4, at=T0)
    topics = [next(c.topic for c in CARDS if c.id == cid) for cid in session.card_ids]
    assert topics[:2] == ["clustering", "clustering"] and topics[2:] == ["bias-variance", "bias-variance"]

    few = [c.id for c in CARDS if c.topic == "bias-variance"]
    whole = await flashcards.start("cli:bob", topic="bias-variance", count=len(few), at=T0)
    for n in range(len(few)):
        await flashcards.rate(whole.id, "cli:bob", Rating.Easy, index=n, at=T0 + timedelta(seconds=n + 1))
    with pytest.raises(NoFlashcards, match="next one is due in"):
        await flashcards.start("cli:bob", topic="bias-variance", at=T0 + timedelta(minutes=5))
    with pytest.raises(InvalidSessionOptions, match="topic list"):
        await flashcards.start("cli:bob", topic="quantum-computing")


async def test_flashcard_reviews_are_exported_and_deleted_with_the_user(flashcards: FlashcardService) -> None:
    session = await flashcards.start("cli:ann", topic="bias-variance", count=1, at=T0)
    await flashcards.rate(session.id, "cli:ann", Rating.Good, index=0, at=T0 + timedelta(seconds=3))
    exported = await flashcards.store.export_user("cli:ann")
    assert [(r["item_id"], r["rating"], r["review_duration"]) for r in exported["reviews"]] == [
        (session.card_ids[0], 3, 3000)
    ]
    assert await flashcards.store.delete_user("cli:ann") > 0
    assert await flashcards.store.review_logs("cli:ann") == []
    assert await flashcards.store.schedule("cli:ann") == {}


async def test_progress_counts_flashcards_apart_from_quiz_reviews(flashcards: FlashcardService) -> None:
    session = await flashcards.start("cli:ann", topic="bias-variance", count=2, at=T0)
    await flashcards.rate(session.id, "cli:ann", Rating.Again, index=0, at=T0 + timedelta(seconds=5))
    await flashcards.rate(session.id, "cli:ann", Rating.Easy, index=1, at=T0 + timedelta(seconds=9))
    service = ProgressService(flashcards.store, TOPICS, items={"q1"}, cards=set(flashcards.cards))
    progress = await service.progress("cli:ann", at=T0 + timedelta(hours=1))
    assert (progress.flashcards.now, progress.flashcards.today) == (1, 1) and progress.flashcards.next_at is not None
    assert (progress.reviews.now, progress.reviews.today) == (0, 0)  # no quiz item is on the schedule
    assert progress.answered == 0  # a self-rated flashcard is not a graded answer
