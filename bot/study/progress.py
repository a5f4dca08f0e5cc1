"""Progress: per-topic and per-area mastery, streaks, totals, leaderboards and the mastery chart.

Mastery of a topic is a recency-weighted average of the learner's scores on it, shrunk towards zero
when there are few answers: ``sum(w * score) / (sum(w) + 2)`` with ``w = 0.5 ** (age_days / 14)``.
One right answer gives 33%, five in a row 71%, and old results fade over a few weeks.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.study.banks import TopicList
from bot.study.store import AttemptRecord, LeaderboardRow, Store

HALF_LIFE_DAYS = 14.0
PRIOR_WEIGHT = 2.0


def topic_mastery(attempts: Iterable[AttemptRecord], at: datetime | None = None) -> dict[str, float]:
    """Topic -> mastery in [0, 1] for every topic with at least one answer."""
    at = at or datetime.now(UTC)
    sums: dict[str, list[float]] = {}
    for a in attempts:
        age = max(0.0, (at - a.answered_at).total_seconds() / 86400)
        w = 0.5 ** (age / HALF_LIFE_DAYS)
        s = sums.setdefault(a.topic, [0.0, 0.0])
        s[0] += w * a.score
        s[1] += w
    return {t: s / (w + PRIOR_WEIGHT) for t, (s, w) in sums.items()}


def streaks(days: Iterable[date], today: date | None = None) -> tuple[int, int]:
    """(current, longest) runs of consecutive study days. Today not studied yet keeps yesterday's run."""
    today = today or datetime.now(UTC).date()
    ordered = sorted(set(days))
    longest = run = 0
    previous: date | None = None
    for d in ordered:
        run = run + 1 if previous is not None and d - previous == timedelta(days=1) else 1
        longest = max(longest, run)
        previous = d
    current = run if previous is not None and (today - previous).days <= 1 else 0
    return current, longest


@dataclass
class AreaProgress:
    area: str
    title: str
    mastery: float  # mean over the area's topics; untouched topics count as 0
    answered: int


@dataclass
class Progress:
    user_id: str
    answered: int
    correct: int
    current_streak: int
    longest_streak: int
    days_studied: int
    due_reviews: int
    areas: list[AreaProgress] = field(default_factory=list)
    weakest_topics: list[tuple[str, float]] = field(default_factory=list)
    strongest_topics: list[tuple[str, float]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


class ProgressService:
    def __init__(self, store: Store, topics: TopicList) -> None:
        self.store = store
        self.topics = topics

    async def progress(self, user_id: str, at: datetime | None = None) -> Progress:
        at = at or datetime.now(UTC)
        attempts = await self.store.attempts(user_id)
        mastery = topic_mastery(attempts, at)
        current, longest = streaks((a.answered_at.date() for a in attempts), at.date())
        per_area: dict[str, int] = {}
        for a in attempts:
            per_area[a.area] = per_area.get(a.area, 0) + 1
        areas = [
            AreaProgress(
                area.id,
                area.title,
                sum(mastery.get(t.id, 0.0) for t in area.topics) / len(area.topics),
                per_area.get(area.id, 0),
            )
            for area in self.topics.areas
        ]
        ranked = sorted(mastery.items(), key=lambda kv: (kv[1], kv[0]))
        return Progress(
            user_id, len(attempts), sum(a.correct for a in attempts), current, longest,
            len({a.answered_at.date() for a in attempts}), len(await self.store.due_items(user_id, at)),
            areas, ranked[:3], ranked[::-1][:3],
        )  # fmt: skip

    async def leaderboard(self, group_id: str, days: int = 7, limit: int = 10) -> list[LeaderboardRow]:
        since = datetime.now(UTC) - timedelta(days=days)
        return await self.store.leaderboard(group_id, since=since, limit=limit)


def mastery_chart(areas: Sequence[AreaProgress], title: str = "Mastery by area") -> bytes:
    """A horizontal bar chart of mastery per area, as PNG bytes (CPU-bound: call via to_thread)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 0.42 * len(areas) + 1.2), dpi=110)
    ax = fig.subplots()
    names = [a.title for a in areas][::-1]
    values = [round(a.mastery * 100) for a in areas][::-1]
    colors = ["#d9534f" if v < 34 else "#f0ad4e" if v < 67 else "#5cb85c" for v in values]
    bars = ax.barh(names, values, color=colors)
    ax.set_xlim(0, 100)
    ax.set_xlabel("mastery (%)")
    ax.set_title(title)
    for bar, value in zip(bars, values, strict=True):
        ax.text(min(value + 1, 92), bar.get_y() + bar.get_height() / 2, f"{value}%", va="center", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
