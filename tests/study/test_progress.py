from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.study.banks import load_topics
from bot.study.progress import AreaProgress, ProgressService, mastery_chart, streaks, topic_mastery
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
    assert math.answered == 3 and 0 < math.mastery < 0.2  # 2 of 5 math topics touched
    assert progress.weakest_topics[0][0] == "optimization"
    assert len(progress.areas) == len(topics.areas)
    await store.close()


def test_chart_is_a_png() -> None:
    png = mastery_chart([AreaProgress("math", "Mathematics", 0.42, 3), AreaProgress("data", "Data", 0.9, 10)])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
