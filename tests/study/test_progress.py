from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.study.banks import load_topics
from bot.study.progress import (
    CARD,
    AreaProgress,
    ProgressService,
    ReviewsDue,
    chart_rows,
    level_of,
    mastery_chart,
    reviews_due,
    streaks,
    topic_mastery,
)
from bot.study.store import AttemptRecord, Store

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _a(topic: str, score: float, days_ago: float = 0, area: str = "math") -> AttemptRecord:
    return AttemptRecord("u", f"{topic}-1", "quiz", area, topic, score, score == 1.0, NOW - timedelta(days=days_ago))


def test_mastery_grows_with_right_answers_and_fades_with_time() -> None:
    one = topic_mastery([_a("p", 1)], NOW)["p"]
    five = topic_mastery([_a("p", 1)] * 5, NOW)["p"]
    assert round(one, 3) == round(1 / 3, 3) and round(five, 3) == round(5 / 7, 3)
    mixed = topic_mastery([_a("p", 1), _a("p", 0)], NOW)["p"]
    assert mixed == 0.25
    old = topic_mastery([_a("p", 1, days_ago=14)] * 5 + [_a("p", 0)], NOW)["p"]
    recent = topic_mastery([_a("p", 1)] * 5 + [_a("p", 0, days_ago=14)], NOW)["p"]
    assert recent > old  # a recent mistake weighs more than old successes


def test_streaks() -> None:
    d = date(2026, 11, 24)
    days = [d - timedelta(days=i) for i in (0, 1, 2, 5, 6, 7, 8)]
    assert streaks(days, d) == (3, 4)
    assert streaks([d - timedelta(days=1)], d) == (1, 1)  # today not studied yet: still alive
    assert streaks([d - timedelta(days=2)], d) == (0, 1)
    assert streaks([], d) == (0, 0)


async def test_progress_summary(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    topics = load_topics(Path("knowledge"))
    await store.ensure_user("u")
    for att in [_a("probability", 1), _a("probability", 1), _a("optimization", 0),
                _a("sql", 1, area="data-engineering")]:  # fmt: skip
        att = AttemptRecord(att.user_id, att.item_id, att.kind, att.area, att.topic, att.score, att.correct,
                            datetime.now(UTC))  # fmt: skip
        await store.record_attempt(att)
    progress = await ProgressService(store, topics).progress("u")
    assert (progress.answered, progress.correct, progress.current_streak) == (4, 3, 1)
    math = next(a for a in progress.areas if a.area == "math")
    # The mean over the two math topics tried (probability 2/4, optimization 0), not over all five.
    assert (math.answered, math.correct, math.topics_tried, math.topics_total) == (3, 2, 2, 5)
    assert math.mastery == pytest.approx(0.25)
    weakest = progress.weakest_topics[0]
    assert weakest.topic == "optimization" and weakest.title.startswith("Optimization")  # a title, not a slug
    assert len(progress.areas) == len(topics.areas)
    await store.close()


async def test_area_numbers_add_up_and_untried_is_not_zero(tmp_path: Path) -> None:
    """2 of 2 right in one data-engineering topic: that area shows the topic's mastery with its coverage,
    untried areas show no mastery at all, and the per-area answers add up to the totals."""
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    topics = load_topics(Path("knowledge"))
    await store.ensure_user("u")
    for n, (topic, area, score) in enumerate(
        [("sql", "data-engineering", 1.0), ("sql", "data-engineering", 1.0), ("probability", "math", 0.0)]
    ):
        await store.record_attempt(
            AttemptRecord("u", f"{topic}-{n}", "quiz", area, topic, score, score == 1.0, datetime.now(UTC))
        )
    progress = await ProgressService(store, topics).progress("u")
    areas = {a.area: a for a in progress.areas}
    data = areas["data-engineering"]
    assert data.mastery == pytest.approx(0.5) and (data.correct, data.answered, data.topics_tried) == (2, 2, 1)
    assert data.topics_total == len(next(a for a in topics.areas if a.id == "data-engineering").topics)
    assert areas["math"].mastery == 0.0 and areas["math"].tried  # tried and failed...
    assert areas["cloud"].mastery is None and not areas["cloud"].tried  # ...is not the same as never tried
    assert sum(a.answered for a in progress.areas) == progress.answered
    assert sum(a.correct for a in progress.areas) == progress.correct
    assert progress.areas_tried == 2
    await store.close()


async def test_reviews_due_counts_the_next_day_and_says_when_the_next_comes(tmp_path: Path) -> None:
    """fsrs puts a missed item minutes out: "due now" alone would read 0 right after a miss."""
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    await store.ensure_user("u")
    at = datetime.now(UTC)
    dues = {"overdue": -timedelta(minutes=3), "soon": timedelta(minutes=5), "tonight": timedelta(hours=6),
            "later": timedelta(days=3), "flashcard": timedelta(minutes=1)}  # fmt: skip
    for item, offset in dues.items():
        attempt = AttemptRecord("u", item, "quiz", "math", "probability", 0.0, False, at)
        await store.record_attempt(attempt, card={"due": "x"}, due=at + offset)
    quiz_items = set(dues) - {"flashcard"}  # only quiz items count as reviews here
    service = ProgressService(store, load_topics(Path("knowledge")), items=quiz_items)
    reviews = (await service.progress("u", at)).reviews
    assert (reviews.now, reviews.today) == (1, 3)
    assert reviews.next_at is not None and abs(reviews.next_at - (at + timedelta(minutes=5))) < timedelta(seconds=1)
    later = (await service.progress("u", at + timedelta(days=1))).reviews
    assert (later.now, later.today) == (3, 3) and later.next_at is not None and later.next_at > at + timedelta(days=2)
    assert reviews_due([], at) == ReviewsDue(0, 0, None)
    await store.close()


def test_chart_rows_mark_untried_areas_and_spare_beginners_the_red() -> None:
    rows = chart_rows(
        [
            AreaProgress("math", "Mathematics", 0.0, 3, 0, 1, 5),  # tried, all wrong
            AreaProgress("cloud", "Cloud platforms", None, 0, 0, 0, 5),  # never tried
            AreaProgress("data", "Data", 0.33, 1, 1, 1, 9),  # a beginner: one right answer
            AreaProgress("algo", "Algorithms", 0.8, 12, 11, 3, 14),
        ]
    )
    assert [r.tried for r in rows] == [True, False, True, True]
    assert rows[1].label == "not tried" and rows[0].label.startswith("0% · 0/3 right · 1/5 topics")
    assert rows[0].colour == rows[2].colour == level_of(0.0)[1] != rows[3].colour
    assert level_of(0.33)[0] == "starting" and level_of(0.8)[0] == "mastered"
    reds = {"#d9534f", "#ff0000", "#dc3545", "#e74c3c"}
    assert not {r.colour for r in rows} & reds


def test_chart_is_an_opaque_card_for_dark_and_light_clients() -> None:
    png = mastery_chart([AreaProgress("math", "Mathematics", 0.42, 3), AreaProgress("data", "Data", None)])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    corner = pixels[2, 2]
    card = tuple(int(CARD[i : i + 2], 16) / 255 for i in (1, 3, 5))
    assert (len(corner) == 3 or corner[3] == 1.0) and all(abs(c - v) < 0.02 for c, v in zip(corner, card, strict=False))
    fresh = mastery_chart([AreaProgress("math", "Mathematics", None)])  # a new learner: nothing tried yet
    assert fresh.startswith(b"\x89PNG")
