"""Progress: per-topic and per-area mastery, streaks, totals, reviews due, leaderboards and the mastery chart.

Mastery of a topic is a recency-weighted average of the learner's scores on it, shrunk towards zero
when there are few answers: ``sum(w * score) / (sum(w) + 2)`` with ``w = 0.5 ** (age_days / 14)``.
One right answer gives 33%, five in a row 71%, and old results fade over a few weeks.

An area's mastery is the mean over the topics of it the learner has tried, shown next to how many of
its topics that is (its coverage): an untried topic is "not tried", never a 0% that reads as failed.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.study.banks import TopicList
from bot.study.store import AttemptRecord, LeaderboardRow, Store

HALF_LIFE_DAYS = 14.0
PRIOR_WEIGHT = 2.0
MASTERED = 0.7  # about five right answers in a row, recently
REVIEW_HORIZON = timedelta(days=1)  # "due today": what comes due within a day

MASTERY_MEANING = (
    "Mastery is a score per topic that weighs your recent answers most: one right answer gives 33%, "
    f"five in a row 71% (mastered from {MASTERED:.0%}), and it fades when a topic rests for weeks. "
    "An area's mastery is the mean over the topics you tried."
)
POINTS_MEANING = (
    "Points: every answer in quizzes, reviews and interviews scores 0 to 1 (1 for a right choice; a written "
    "answer by the share of key points it covers), added up over the last {days} days."
)


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
class TopicProgress:
    """One topic the learner has answered questions on."""

    topic: str
    title: str
    area: str
    mastery: float
    answered: int
    correct: int


@dataclass
class AreaProgress:
    area: str
    title: str
    mastery: float | None  # mean over the topics tried; None when none was (not 0: that would read as failed)
    answered: int = 0
    correct: int = 0
    topics_tried: int = 0
    topics_total: int = 0

    @property
    def tried(self) -> bool:
        return self.mastery is not None


@dataclass
class ReviewsDue:
    """Where a learner's spaced-repetition schedule stands at one moment."""

    now: int = 0  # due at this moment
    today: int = 0  # due within REVIEW_HORIZON, those due now included
    next_at: datetime | None = None  # when the first review not yet due comes due


@dataclass
class Progress:
    """Everything /progress shows. Fields have defaults, so that more can be added without breaking callers."""

    user_id: str
    answered: int = 0
    correct: int = 0
    current_streak: int = 0
    longest_streak: int = 0
    days_studied: int = 0
    reviews: ReviewsDue = field(default_factory=ReviewsDue)  # quiz items
    flashcards: ReviewsDue = field(default_factory=ReviewsDue)  # answer cards studied as flashcards
    areas: list[AreaProgress] = field(default_factory=list)
    topics: list[TopicProgress] = field(default_factory=list)  # the topics tried, weakest first

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    @property
    def areas_tried(self) -> int:
        return sum(a.tried for a in self.areas)

    @property
    def weakest_topics(self) -> list[TopicProgress]:
        """Up to three topics tried and not mastered yet, weakest first."""
        return [t for t in self.topics if t.mastery < MASTERED][:3]

    @property
    def strongest_topics(self) -> list[TopicProgress]:
        """Up to three topics tried, strongest first, none of them among the weakest."""
        weak = {t.topic for t in self.weakest_topics}
        return [t for t in reversed(self.topics) if t.topic not in weak][:3]


def reviews_due(dues: Iterable[datetime], at: datetime) -> ReviewsDue:
    """Count the due dates of a schedule at ``at``: due now, due within a day, and the next one after ``at``."""
    dues = list(dues)
    later = [d for d in dues if d > at]
    return ReviewsDue(sum(d <= at for d in dues), sum(d <= at + REVIEW_HORIZON for d in dues), min(later, default=None))


class ProgressService:
    def __init__(
        self, store: Store, topics: TopicList, items: Collection[str] | None = None, cards: Collection[str] = ()
    ) -> None:
        self.store = store
        self.topics = topics
        self.items = items  # the quiz items whose reviews count (None: every item on the schedule)
        self.cards = cards  # the flashcards (answer card ids), counted apart

    async def progress(self, user_id: str, at: datetime | None = None) -> Progress:
        at = at or datetime.now(UTC)
        attempts = await self.store.attempts(user_id)
        mastery = topic_mastery(attempts, at)
        current, longest = streaks((a.answered_at.date() for a in attempts), at.date())
        counts: dict[str, list[int]] = {}  # topic -> [answered, correct]
        area_of: dict[str, str] = {}
        for a in attempts:
            tally = counts.setdefault(a.topic, [0, 0])
            tally[0] += 1
            tally[1] += int(a.correct)
            known = self.topics.area_of(a.topic)
            area_of[a.topic] = known.id if known else a.area
        topics = sorted(
            (
                TopicProgress(t, self.topics.title_of(t), area_of[t], m, counts[t][0], counts[t][1])
                for t, m in mastery.items()
            ),
            key=lambda p: (p.mastery, p.title),
        )
        areas = []
        for area in self.topics.areas:
            tried = [t for t in topics if t.area == area.id]
            areas.append(
                AreaProgress(
                    area.id,
                    area.title,
                    sum(t.mastery for t in tried) / len(tried) if tried else None,
                    sum(t.answered for t in tried),
                    sum(t.correct for t in tried),
                    len(tried),
                    len(area.topics),
                )
            )
        schedule = await self.store.schedule(user_id)
        reviews = reviews_due((d for i, d in schedule.items() if self.items is None or i in self.items), at)
        flashcards = reviews_due((d for i, d in schedule.items() if i in self.cards), at)
        return Progress(
            user_id,
            answered=len(attempts),
            correct=sum(a.correct for a in attempts),
            current_streak=current,
            longest_streak=longest,
            days_studied=len({a.answered_at.date() for a in attempts}),
            reviews=reviews,
            flashcards=flashcards,
            areas=areas,
            topics=topics,
        )

    async def leaderboard(self, group_id: str, days: int = 7, limit: int = 10) -> list[LeaderboardRow]:
        since = datetime.now(UTC) - timedelta(days=days)
        return await self.store.leaderboard(group_id, since=since, limit=limit)


# The chart: an opaque dark card with light text, so that it reads the same in a dark or a light client.
CARD = "#1f2430"
TRACK = "#2f3646"
TEXT = "#e8ebf2"
DIM = "#98a1b5"
LEVELS = (  # (from mastery, name, colour): blue, amber, green; nothing reads as an alarm for a beginner
    (0.0, "starting", "#6ea8fe"),
    (0.34, "building", "#f2c14e"),
    (MASTERED, "mastered", "#5fd08f"),
)


@dataclass(frozen=True)
class ChartRow:
    """One area as the chart draws it: an untried area gets a grey "not tried" instead of a bar."""

    title: str
    mastery: float | None
    colour: str
    label: str

    @property
    def tried(self) -> bool:
        return self.mastery is not None


def level_of(mastery: float) -> tuple[str, str]:
    """(name, colour) of the level a mastery falls in."""
    name, colour = LEVELS[0][1:]
    for start, level, shade in LEVELS:
        if mastery >= start:
            name, colour = level, shade
    return name, colour


def chart_rows(areas: Sequence[AreaProgress]) -> list[ChartRow]:
    """What the chart shows for each area, in the order given."""
    rows = []
    for a in areas:
        if a.mastery is None:
            rows.append(ChartRow(a.title, None, TRACK, "not tried"))
            continue
        label = f"{a.mastery:.0%} · {a.correct}/{a.answered} right · {a.topics_tried}/{a.topics_total} topics"
        rows.append(ChartRow(a.title, a.mastery, level_of(a.mastery)[1], label))
    return rows


def mastery_chart(areas: Sequence[AreaProgress], title: str = "Mastery by area") -> bytes:
    """A horizontal bar chart of mastery per area, as PNG bytes (CPU-bound: call via to_thread)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = chart_rows(areas)[::-1]  # barh draws bottom-up: the first area on top
    fig = Figure(figsize=(8.6, 0.4 * len(rows) + 1.7), dpi=110, facecolor=CARD)
    ax = fig.subplots()
    ax.set_facecolor(CARD)
    y = range(len(rows))
    ax.barh(y, [100] * len(rows), color=TRACK, height=0.62)  # the track: where 100% would end
    for i, row in enumerate(rows):
        if row.mastery is None:
            ax.text(2, i, row.label, va="center", color=DIM, fontsize=8.5, style="italic")
            continue
        width = max(row.mastery * 100, 0.8)  # a failed area still shows a sliver: tried, unlike "not tried"
        ax.barh(i, width, color=row.colour, height=0.62)
        ax.text(102, i, row.label, va="center", color=TEXT, fontsize=8.5)
    ax.axvline(MASTERED * 100, color=TEXT, linestyle=(0, (3, 3)), linewidth=0.9, alpha=0.55)
    ax.text(MASTERED * 100, len(rows) - 0.45, "mastered", color=DIM, fontsize=7.5, ha="center", va="bottom")
    ax.set_yticks(list(y), [r.title for r in rows], fontsize=9)
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        tick.set_color(TEXT if row.tried else DIM)
    ax.set_xlim(0, 165)
    ax.set_ylim(-0.6, len(rows) - 0.1)
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"], fontsize=8, color=DIM)
    ax.tick_params(length=0, colors=DIM)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, loc="left", color=TEXT, fontsize=12, fontweight="bold", pad=26)
    note = "each area: the mean over the topics you tried" if any(r.tried for r in rows) else "nothing tried yet"
    ax.text(0, 1.035, note, transform=ax.transAxes, color=DIM, fontsize=8.5, va="bottom")
    legend = [Patch(color=colour, label=name) for _, name, colour in LEVELS]
    legend.append(Patch(facecolor=TRACK, edgecolor=DIM, linewidth=0.6, label="not tried"))
    ax.legend(
        handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=4, frameon=False, fontsize=8,
        labelcolor=TEXT, handlelength=1.2,
    )  # fmt: skip
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor=CARD)
    return buf.getvalue()
