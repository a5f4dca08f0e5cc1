"""Quizzes, reviews and progress in the terminal (``studybot quiz|review|progress`` and chat commands)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.study.banks import QuizType
from bot.study.errors import InvalidAnswer
from bot.study.progress import Progress, mastery_chart
from bot.study.quiz import LETTERS, QuizResult, QuizSession, QuizSummary
from bot.terminal import read_line

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
    lines = [f"[bold]{escape(item.question)}[/]"]
    lines += [f"  [cyan]{LETTERS[i]}[/]. {escape(choice)}" for i, choice in enumerate(item.choices)]
    title = f"{session.mode} {session.index + 1}/{session.total} · {item.topic} · {item.difficulty.value}"
    console.print(Panel("\n".join(lines), title=title, title_align="left", subtitle=HINTS[item.type]))


def render_result(console: Console, result: QuizResult) -> None:
    mark = {"correct": "[green]✓ correct[/]", "partial": "[yellow]~ partly right[/]"}.get(
        result.verdict, "[red]✗ not quite[/]"
    )
    body = [f"{mark} (score {result.score:.2f})"]
    if not result.correct:
        body.append(f"[bold]Answer:[/] {escape(result.right_answer)}")
    if result.feedback:
        body.append(escape(result.feedback))
    body.append(escape(result.explanation))
    body.append(f"[dim]Source: {escape(result.source)}[/]")
    console.print("\n".join(body))


def render_summary(console: Console, summary: QuizSummary) -> None:
    table = Table(title=f"Quiz summary: {summary.correct}/{summary.answered} correct")
    table.add_column("topic")
    table.add_column("correct", justify="right")
    for topic, (ok, seen) in sorted(summary.by_topic.items()):
        table.add_row(topic, f"{ok}/{seen}")
    console.print(table)
    if summary.to_review:
        console.print("Missed items come back in [bold]studybot review[/] when they are due.")


async def run_quiz(services: Services, console: Console, session: QuizSession, user_id: str) -> None:
    """Ask the session's remaining questions; '/stop' (or Ctrl-D) pauses, and the quiz can be resumed."""
    quizzes = services.quizzes
    while session.current_id is not None:
        render_question(console, services, session)
        raw = await read_line(console, "[bold magenta]answer>[/] ")
        if raw is None or raw.strip() == "/stop":
            console.print("Quiz paused: it resumes where you left it next time.")
            return
        try:
            result = await quizzes.answer(session.id, user_id, raw)
        except InvalidAnswer as exc:
            console.print(f"[yellow]{escape(str(exc))}[/]")
            continue
        render_result(console, result)
        session = await quizzes.load(session.id)
    render_summary(console, quizzes.summary(session))


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def render_progress(console: Console, progress: Progress) -> None:
    console.print(
        f"[bold]{progress.answered}[/] {_plural(progress.answered, 'answer')}, {progress.accuracy:.0%} correct · "
        f"streak [bold]{progress.current_streak}[/] {_plural(progress.current_streak, 'day')} "
        f"(longest {progress.longest_streak}) · {progress.due_reviews} {_plural(progress.due_reviews, 'review')} due"
    )
    table = Table(title="Mastery by area")
    table.add_column("area")
    table.add_column("mastery", justify="right")
    table.add_column("answers", justify="right")
    for area in progress.areas:
        table.add_row(area.title, f"{area.mastery:.0%}", str(area.answered))
    console.print(table)
    if progress.weakest_topics:
        weak = ", ".join(f"{t} ({m:.0%})" for t, m in progress.weakest_topics)
        console.print(f"Weakest topics: {escape(weak)}. [bold]studybot review[/] practises them.")


async def show_progress(services: Services, console: Console, user_id: str, chart: Path | None) -> None:
    progress = await services.progress.progress(user_id)
    render_progress(console, progress)
    if chart is not None:
        png = await asyncio.to_thread(mastery_chart, progress.areas)
        await asyncio.to_thread(chart.write_bytes, png)
        console.print(f"Chart saved to [bold]{escape(str(chart))}[/]")
