"""A solo mock interview in the terminal, rendered with rich, over :class:`InterviewService`.

One answer per line; ``/skip`` gives up on a question (recorded as unanswered), ``/end`` or Ctrl-D
ends early with a scorecard for what was answered.
"""

from __future__ import annotations

import getpass
import logging
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.study.errors import AnswerTooLate, InvalidAnswer, StudybotError
from bot.study.grading import Verdict
from bot.study.interview import AnswerFeedback, InterviewService, InterviewStep, Outcome, Prompt, Scorecard
from bot.terminal import read_line

log = logging.getLogger(__name__)

HELP = (
    "Answer in a few sentences on one line, as you would to an interviewer. "
    "[cyan]/skip[/] skips a question, [cyan]/end[/] ends the interview (Ctrl-D too), [cyan]/help[/] shows this."
)
_COLOURS = {Verdict.correct: "green", Verdict.partial: "yellow", Verdict.incorrect: "red"}


class HasInterviews(Protocol):
    """What the flow needs from the wiring (``bot.app.Services``)."""

    @property
    def interviews(self) -> InterviewService: ...


def default_user() -> tuple[str, str]:
    try:
        name = getpass.getuser()
    except Exception:  # no login name in some containers
        name = "me"
    return f"cli:{name}", name


def render_prompt(console: Console, prompt: Prompt) -> None:
    if prompt.is_follow_up:
        console.print(Panel(escape(prompt.text), title="follow-up", title_align="left", border_style="magenta"))
        return
    title = f"question {prompt.number}/{prompt.total} · {prompt.topic} · {prompt.level} · {prompt.kind}"
    console.print(Panel(escape(prompt.text), title=escape(title), title_align="left", border_style="cyan"))


def render_feedback(console: Console, result: AnswerFeedback) -> None:
    lines = [escape(result.feedback)]
    if result.follow_up_summary:
        lines.append(f"[magenta]follow-up:[/] {escape(result.follow_up_summary)}")
    if result.outcome is Outcome.answered:
        lines += [f"[green]✓[/] {escape(p)}" for p in result.covered]
        lines += [f"[red]✗[/] {escape(p)}" for p in result.missed]
        lines += [f"[red]⚠ {escape(f)}[/]" for f in result.red_flags]
    lines += ["", f"[bold]Model answer:[/] {escape(result.model_answer)}"]
    lines += [f"[dim]read: {escape(s)}[/]" for s in result.sources]
    colour = _COLOURS[result.verdict]
    title = f"Q{result.number} · {result.verdict.value} · {result.score:.0%}"
    console.print(Panel("\n".join(lines), title=title, title_align="left", border_style=colour))


def render_scorecard(console: Console, card: Scorecard) -> None:
    table = Table(title=escape(f"Scorecard: {card.name or card.user_id}"), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("topic")
    table.add_column("result")
    table.add_column("score", justify="right")
    for item in card.items:
        note = {Outcome.timeout: " (no answer in time)", Outcome.skipped: " (skipped)"}.get(item.outcome, "")
        result = f"[{_COLOURS[item.verdict]}]{item.verdict.value}[/]{escape(item.follow_up_note)}{note}"
        table.add_row(str(item.number), escape(item.topic), result, f"{item.score:.0%}")
    table.add_section()
    table.add_row("", "[bold]overall[/]", "", f"[bold]{card.overall:.0%}[/]")
    console.print(table)
    for title, entries, empty in (
        ("Strengths", card.strengths, "none yet"),
        ("To improve", card.to_improve, "nothing missed"),
        ("Read next", card.read_next, "nothing urgent"),
    ):
        console.print(f"[bold]{title}:[/]" + ("" if entries else f" {empty}"))
        for entry in entries:
            console.print(f"  • {escape(entry)}")


def _render_step(console: Console, step: InterviewStep) -> None:
    for result in step.released:
        render_feedback(console, result)


async def run_interview(
    services_like: HasInterviews,
    console: Console,
    *,
    topic: str | None = None,
    level: str | None = None,
    questions: int = 5,
    area: str | None = None,
    user_id: str | None = None,
    user_name: str | None = None,
    raise_errors: bool = False,
) -> None:
    """Run a solo mock interview until it finishes, is ended with ``/end``, or input ends (EOF).

    An interview that cannot start (no question matches the filters) is a printed message inside
    chat, or, with ``raise_errors`` (the `studybot interview` command), the error itself, so the
    command exits non-zero like `studybot quiz` does."""
    service = services_like.interviews
    if user_id is None:
        user_id, default_name = default_user()
        user_name = user_name or default_name
    if topic and area is None and topic in {q.area for q in service.questions}:
        topic, area = None, topic  # `--topic mlops` names an area: take the whole area
    try:
        session = await service.start(
            user_id, user_name or "", topic=topic, area=area, level=level, questions=questions
        )
    except StudybotError as exc:
        if raise_errors:
            raise
        console.print(f"[red]{escape(str(exc))}[/]")
        return
    console.print(f"[bold]Mock interview[/]: {session.total} questions. {HELP}")
    if session.notice:
        console.print(f"[yellow]{escape(session.notice)}[/]")
    prompt = session.current_prompt()
    shown: Prompt | None = None
    while prompt is not None:
        if prompt != shown:
            render_prompt(console, prompt)
            shown = prompt
        line = await read_line(console, "[bold magenta]you>[/] ")
        command = (line or "").strip().lower()
        if line is None or command in {"/end", "/quit", "/exit", "/q"}:
            if line is None:
                console.print()
            try:
                cards = await service.end(session.id, user_id)
            except StudybotError as exc:
                console.print(f"[red]{escape(str(exc))}[/]")
                return
            console.print("[yellow]Interview ended early.[/]")
            for card in cards:
                render_scorecard(console, card)
            return
        if command == "/help":
            console.print(HELP)
            continue
        try:
            if command == "/skip":
                step = await service.skip(session.id, user_id)
            else:
                step = await service.answer(session.id, user_id, line)
        except InvalidAnswer as exc:
            console.print(f"[yellow]{escape(str(exc))}[/]")
            continue
        except AnswerTooLate as exc:
            console.print(f"[yellow]{escape(str(exc))}[/]")
            session = await service.load(session.id)
            if session.over:
                for card in session.scorecards():
                    render_scorecard(console, card)
                return
            prompt = session.current_prompt()
            continue
        except StudybotError as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            continue
        except Exception:
            log.exception("interview answer failed")
            console.print("[red]Sorry, something went wrong with that answer. Try again, or /end.[/]")
            continue
        _render_step(console, step)
        if step.finished:
            console.print("[bold]Interview complete.[/]")
            for card in step.scorecards:
                render_scorecard(console, card)
            return
        prompt = step.prompt
