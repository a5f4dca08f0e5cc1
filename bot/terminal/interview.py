"""A solo mock interview in the terminal, rendered with rich, over :class:`InterviewService`.

An answer may take several lines; an empty line sends it. ``/skip`` gives up on a question
(recorded as unanswered), ``/end`` ends early with a scorecard for what was answered. Ctrl-C or
Ctrl-D leave at once: the interview is saved, and ``studybot interview`` carries on with it.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from typing import Protocol

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.study.banks import TopicList
from bot.study.errors import AnswerTooLate, InvalidAnswer, StudybotError
from bot.study.grading import Verdict
from bot.study.interview import (
    AnswerFeedback,
    InterviewService,
    InterviewSession,
    InterviewStep,
    Outcome,
    Prompt,
    Scorecard,
    SessionStatus,
)
from bot.terminal.line_input import LeaveRequested, read_paragraph
from bot.terminal.rendering import hanging

log = logging.getLogger(__name__)

HELP = (
    "Answer as you would to an interviewer, in as many lines as you like: [bold]an empty line sends it[/]. "
    "[cyan]/skip[/] skips a question, [cyan]/end[/] ends the interview with a scorecard, [cyan]/help[/] shows this. "
    "Ctrl-C or Ctrl-D leave at once and save the interview for later."
)
_COLOURS = {Verdict.correct: "green", Verdict.partial: "yellow", Verdict.incorrect: "red"}


class HasInterviews(Protocol):
    """What the flow needs from the wiring (``bot.app.Services``)."""

    @property
    def interviews(self) -> InterviewService: ...

    @property
    def topics(self) -> TopicList: ...


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
    parts: list[RenderableType] = [escape(result.feedback)]
    if result.follow_up_summary:
        parts.append(hanging([("[magenta]follow-up:[/]", escape(result.follow_up_summary))]))
    if result.outcome is Outcome.answered:
        marks = [("[green]✓[/]", escape(p)) for p in result.covered] + [("[red]✗[/]", escape(p)) for p in result.missed]
        parts.append(hanging(marks + [("[red]⚠[/]", f"[red]{escape(f)}[/]") for f in result.red_flags]))
    parts += ["", hanging([("[bold]Model answer:[/]", escape(result.model_answer))])]
    if "Read:" not in result.feedback:  # the feedback names where to read already
        parts.append(hanging([("read:", escape(s)) for s in result.sources], style="dim"))
    colour = _COLOURS[result.verdict]
    title = f"Q{result.number} · {result.verdict.value} · {result.score:.0%}"
    console.print(Panel(Group(*parts), title=title, title_align="left", border_style=colour))


def render_scorecard(console: Console, card: Scorecard, titles: Callable[[str], str] = str) -> None:
    table = Table(title=escape(f"Scorecard: {card.name or card.user_id}"), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("topic")
    table.add_column("result")
    table.add_column("score", justify="right")
    for item in card.items:
        note = {Outcome.timeout: " (no answer in time)", Outcome.skipped: " (skipped)"}.get(item.outcome, "")
        result = f"[{_COLOURS[item.verdict]}]{item.verdict.value}[/]{escape(item.follow_up_note)}{note}"
        table.add_row(str(item.number), escape(titles(item.topic)), result, f"{item.score:.0%}")
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


def describe(topics: TopicList, session: InterviewSession) -> str:
    """'mock interview on <title>' of the topic or area asked for (or that every question shares), else
    'mock interview'."""
    asked = session.topic or session.area
    if asked:
        return f"mock interview on {topics.title_of(asked)}"
    for ids in ({q.topic for q in session.questions}, {q.area for q in session.questions}):
        if len(ids) == 1:
            return f"mock interview on {topics.title_of(ids.pop())}"
    return "mock interview"


def _at(session: InterviewSession) -> str:
    return f"question {session.index + 1} of {session.total}"


async def paused_interview(service: InterviewService, user_id: str) -> InterviewSession | None:
    """The learner's solo interview left in progress, if any (the newest)."""
    sessions = await service.active_for(user_id)
    mine = [s for s in sessions if not s.group and s.owner_id == user_id and s.status is SessionStatus.active]
    return max(mine, key=lambda s: s.created_at, default=None)


async def run_interview(
    services_like: HasInterviews,
    console: Console,
    *,
    topic: str | None = None,
    level: str | None = None,
    questions: int | None = None,
    area: str | None = None,
    user_id: str | None = None,
    user_name: str | None = None,
    raise_errors: bool = False,
) -> None:
    """Run a solo mock interview until it finishes or is ended with ``/end``; Ctrl-C or Ctrl-D save it
    and leave (:class:`LeaveRequested` rises).

    Without options an interview left in progress carries on; any option starts a new one, which
    replaces it. An interview that cannot start (no question matches the filters) is a printed message
    inside chat, or, with ``raise_errors`` (the `studybot interview` command), the error itself, so the
    command exits non-zero like `studybot quiz` does."""
    service = services_like.interviews
    topics = services_like.topics
    if user_id is None:
        user_id, default_name = default_user()
        user_name = user_name or default_name
    paused = await paused_interview(service, user_id)
    explicit = any(option is not None for option in (topic, area, level, questions))
    try:
        if paused is not None and not explicit:
            session = await service.resume(paused.id, user_id)
            console.print(f"Carrying on with your {escape(describe(topics, session))}, at {_at(session)}.")
            console.print(HELP)
        else:
            if topic and area is None and topic in {q.area for q in service.questions}:
                topic, area = None, topic  # `--topic mlops` names an area: take the whole area
            session = await service.start(
                user_id, user_name or "", topic=topic, area=area, level=level, questions=questions or 5
            )
            if paused is not None:
                await service.end(paused.id, user_id)
                console.print(
                    f"[dim]Your unfinished {escape(describe(topics, paused))}, at {_at(paused)}, is closed: "
                    "this new one takes its place.[/]"
                )
            console.print(f"[bold]Mock interview[/]: {session.total} questions. {HELP}")
            if session.notice:
                console.print(f"[yellow]{escape(session.notice)}[/]")
    except StudybotError as exc:
        if raise_errors:
            raise
        console.print(f"[red]{escape(str(exc))}[/]")
        return
    try:
        await _converse(service, console, session, user_id, topics.title_of)
    except LeaveRequested:
        session = await service.load(session.id)
        if not session.over:
            console.print(
                f"Saved your {escape(describe(topics, session))}, at {_at(session)}. "
                "To carry on: [bold]/interview[/] in chat, or [bold]studybot interview[/]."
            )
        raise


async def _converse(
    service: InterviewService,
    console: Console,
    session: InterviewSession,
    user_id: str,
    titles: Callable[[str], str] = str,
) -> None:
    prompt = session.current_prompt()
    shown: Prompt | None = None
    while prompt is not None:
        if prompt != shown:
            render_prompt(console, prompt)
            shown = prompt
        line = await read_paragraph(console, "[bold magenta]you>[/] ", "[magenta]...>[/] ")
        command = line.strip().lower()
        if command in {"/end", "/quit", "/exit", "/q"}:
            try:
                cards = await service.end(session.id, user_id)
            except StudybotError as exc:
                console.print(f"[red]{escape(str(exc))}[/]")
                return
            console.print("[yellow]Interview ended early.[/]")
            for card in cards:
                render_scorecard(console, card, titles)
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
                    render_scorecard(console, card, titles)
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
                render_scorecard(console, card, titles)
            return
        prompt = step.prompt
