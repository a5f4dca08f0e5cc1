"""Quizzes, reviews and progress in the terminal (``studybot quiz|review|progress`` and chat commands)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.study.banks import QuizType
from bot.study.errors import InvalidAnswer
from bot.study.flashcards import interval_text
from bot.study.progress import MASTERY_MEANING, Progress, ReviewsDue, mastery_chart
from bot.study.quiz import LETTERS, NothingDue, QuizResult, QuizSession, QuizSummary, ReviewReason
from bot.terminal.line_input import LeaveRequested, read_line
from bot.terminal.rendering import hanging

if TYPE_CHECKING:
    from bot.app import Services

HINTS = {
    QuizType.mcq: "answer with a letter",
    QuizType.multi: "pick every right letter, e.g. A,C",
    QuizType.true_false: "answer true or false",
    QuizType.short: "answer in a sentence or two",
}


def render_question(console: Console, services: Services, session: QuizSession) -> None:
    item = services.quizzes.shown(session)
    reason = services.quizzes.reason(session)
    lines = [f"[dim]{escape(review_reason(services, reason))}[/]"] if reason else []
    lines += [f"[bold]{escape(item.question)}[/]"]
    lines += [f"  [cyan]{LETTERS[i]}[/]. {escape(choice)}" for i, choice in enumerate(item.choices)]
    topic = services.topics.title_of(item.topic)
    title = f"{session.mode} {session.index + 1}/{session.total} · {escape(topic)} · {item.difficulty.value}"
    console.print(Panel("\n".join(lines), title=title, title_align="left", subtitle=HINTS[item.type]))


def _in(moment: datetime) -> str:
    return "now" if moment <= datetime.now(UTC) else f"in {interval_text(moment - datetime.now(UTC))}"


def review_reason(services: Services, reason: ReviewReason) -> str:
    """Why a question is in a review, in a line."""
    topic = services.topics.title_of(reason.topic)
    if reason.kind == "due" and reason.due_since is not None:
        ago = interval_text(datetime.now(UTC) - reason.due_since)
        return f"Due for review since {ago} ago ({topic})."
    if reason.kind in ("missed", "skipped"):
        return f"You {reason.kind} this one in your quiz ({topic})."
    if reason.mastery is None:
        return f"From {topic}, a topic you have not tried yet."
    return f"From {topic}, one of your weakest topics ({reason.mastery:.0%} mastery)."


def render_offer(console: Console, services: Services, nothing: NothingDue) -> None:
    """Nothing due for review: when the next one comes, and the weakest topics to practise meanwhile."""
    offer = nothing.offer
    if not offer.answered:
        console.print(
            "Nothing to review yet: a review brings back what you have answered. "
            "Start with a quiz: [bold]studybot quiz[/] (or [bold]/quiz[/] in chat)."
        )
        return
    next_one = f"; the next one is due {_in(offer.next_due)}" if offer.next_due else ""
    console.print(f"Nothing is due for review now{next_one}.")
    for topic, mastery in offer.weakest:
        command = f"studybot quiz --topic {topic}"
        console.print(f"  • {escape(services.topics.title_of(topic))} · mastery {mastery:.0%} · [bold]{command}[/]")


def render_result(console: Console, result: QuizResult) -> None:
    mark = {"correct": "[green]✓ correct[/]", "partial": "[yellow]~ partly right[/]"}.get(
        result.verdict, "[red]✗ not quite[/]"
    )
    body: list[RenderableType] = [mark + (f" (score {result.score:.0%})" if 0 < result.score < 1 else "")]
    if not result.correct:
        body.append(hanging([("[bold]Answer:[/]", escape(result.right_answer))]))
    feedback = re.sub(r"^(?:Correct|Partly right|Not yet)\.\s*", "", result.feedback)  # said once, above
    if feedback:
        body.append(escape(feedback))
    body.append(escape(result.explanation))
    body.append(hanging([("Source:", escape(result.source))], style="dim"))
    console.print(Group(*body))


def render_summary(console: Console, summary: QuizSummary, titles: Callable[[str], str] = str) -> None:
    table = Table(title=f"Quiz summary: {summary.correct}/{summary.answered} correct")
    table.add_column("topic")
    table.add_column("correct", justify="right")
    for topic, (ok, seen) in sorted(summary.by_topic.items()):
        table.add_row(escape(titles(topic)), f"{ok}/{seen}")
    console.print(table)
    if summary.to_review:
        console.print("Missed items come back in [bold]studybot review[/] when they are due.")


def describe(services: Services, session: QuizSession) -> str:
    """'review', 'quiz on <topic or area title>' when it keeps to one, else 'quiz'."""
    if session.mode == "review":
        return "review"
    items = [services.quizzes.items[i] for i in session.item_ids if i in services.quizzes.items]
    for ids in ({i.topic for i in items}, {i.area for i in items}):
        if len(ids) == 1:
            return f"quiz on {services.topics.title_of(ids.pop())}"
    return "quiz"


def _at(session: QuizSession) -> str:
    return f"question {session.index + 1} of {session.total}"


async def open_quiz(
    services: Services,
    console: Console,
    user_id: str,
    user_name: str,
    *,
    mode: str = "quiz",
    explicit: bool = False,
    area: str | None = None,
    topic: str | None = None,
    difficulty: str | None = None,
    types: list[str] | None = None,
    count: int | None = None,
) -> QuizSession | None:
    """The session to run: the paused one of the same mode (quiz or review) when the learner gave no
    option, else a new one, which replaces a paused one (closed once the new one exists, so that a
    filter matching nothing loses nothing). None when a review finds nothing due (it says so)."""
    quizzes = services.quizzes
    paused = await quizzes.resumable(user_id)
    if paused is not None and paused.mode == mode and not explicit:
        console.print(f"Carrying on with your {escape(describe(services, paused))}, at {_at(paused)}.")
        return paused
    if mode == "review":
        try:
            session = await quizzes.review(user_id, user_name, count=count or 10, group_id="local")
        except NothingDue as nothing:  # no questions picked at random: say so, and what would help
            render_offer(console, services, nothing)
            return None
    else:
        session = await quizzes.start(
            user_id, user_name, area=area, topic=topic, difficulty=difficulty, types=types, count=count or 5,
            group_id="local",
        )  # fmt: skip
        if count is not None and session.total < count:
            console.print(f"Only {session.total} question(s) match those filters.")
    if paused is not None:
        await quizzes.stop(paused.id)
        console.print(
            f"[dim]Your paused {escape(describe(services, paused))}, at {_at(paused)}, is closed: "
            "this new one takes its place.[/]"
        )
    return session


def _paused_note(services: Services, session: QuizSession) -> str:
    command = "review" if session.mode == "review" else "quiz"
    return (
        f"Saved your {escape(describe(services, session))}, at {_at(session)}. "
        f"To carry on: [bold]/{command}[/] in chat, or [bold]studybot {command}[/]."
    )


async def run_quiz(services: Services, console: Console, session: QuizSession, user_id: str) -> None:
    """Ask the session's remaining questions. '/stop' pauses and returns; Ctrl-C or Ctrl-D pause and
    leave (:class:`LeaveRequested` rises). A paused quiz is resumed by :func:`open_quiz`."""
    quizzes = services.quizzes
    while session.current_id is not None:
        render_question(console, services, session)
        try:
            raw = await read_line(console, "[bold magenta]answer>[/] ")
        except LeaveRequested:
            console.print(_paused_note(services, session))  # every answer is saved as it is given
            raise
        if raw.strip() == "/stop":
            console.print(_paused_note(services, session))
            return
        try:
            result = await quizzes.answer(session.id, user_id, raw)
        except InvalidAnswer as exc:
            console.print(f"[yellow]{escape(str(exc))}[/]")
            continue
        render_result(console, result)
        session = await quizzes.load(session.id)
    render_summary(console, quizzes.summary(session), services.topics.title_of)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _due_text(reviews: ReviewsDue, empty: str) -> str:
    if reviews.now:
        later = reviews.today - reviews.now
        return f"{reviews.now} due now" + (f", {later} more within a day" if later else "")
    if reviews.today:
        first = f" (the first {_in(reviews.next_at)})" if reviews.next_at else ""
        return f"none due now, {reviews.today} within a day{first}"
    return f"none due within a day, the next {_in(reviews.next_at)}" if reviews.next_at else empty


def render_progress(console: Console, progress: Progress) -> None:
    """The same numbers as /progress in Discord: totals, streak, reviews, mastery over the topics tried."""
    due = _due_text(progress.reviews, "none scheduled yet")
    if not progress.answered:
        console.print(f"No answers yet: [bold]studybot quiz[/] starts a first quiz · reviews: {due}")
    else:
        console.print(
            f"[bold]{progress.answered}[/] {_plural(progress.answered, 'answer')}, {progress.correct} right "
            f"({progress.accuracy:.0%}) on {len(progress.topics)} {_plural(len(progress.topics), 'topic')} in "
            f"{progress.areas_tried} of {len(progress.areas)} areas · streak [bold]{progress.current_streak}[/] "
            f"{_plural(progress.current_streak, 'day')} (longest {progress.longest_streak}) · reviews: {due}"
        )
    cards = _due_text(progress.flashcards, "none studied yet ([bold]studybot flashcards[/] starts)")
    console.print(f"Flashcards: {cards}")
    table = Table(title="Mastery by area (over the topics tried)")
    table.add_column("area")
    table.add_column("mastery", justify="right")
    table.add_column("right", justify="right")
    table.add_column("topics tried", justify="right")
    for area in progress.areas:
        mastery = f"{area.mastery:.0%}" if area.mastery is not None else "[dim]not tried[/]"
        tried = f"{area.topics_tried}/{area.topics_total}"
        table.add_row(area.title, mastery, f"{area.correct}/{area.answered}", tried)
    console.print(table)
    console.print(f"[dim]{escape(MASTERY_MEANING)}[/]")
    if progress.weakest_topics:
        topics = progress.weakest_topics
        weak = ", ".join(f"{t.title} ({t.mastery:.0%}, {t.correct}/{t.answered} right)" for t in topics)
        practise = f"studybot quiz --topic {topics[0].topic}"
        console.print(f"Weakest topics: {escape(weak)}. [bold]{practise}[/] practises the first.")


async def show_progress(services: Services, console: Console, user_id: str, chart: Path | None) -> None:
    progress = await services.progress.progress(user_id)
    render_progress(console, progress)
    if chart is not None:
        png = await asyncio.to_thread(mastery_chart, progress.areas)
        await asyncio.to_thread(chart.write_bytes, png)
        console.print(f"Chart saved to [bold]{escape(str(chart))}[/]")
