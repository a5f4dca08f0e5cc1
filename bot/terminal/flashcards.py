"""Flashcards in the terminal (``studybot flashcards`` and ``/cards`` in chat).

Each card: the question; Enter shows the answer; then a rating, again / hard / good / easy (or 1-4),
each shown with when the card would come back. ``/stop`` pauses (the next run without options carries
on); Ctrl-C and Ctrl-D pause and leave at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from bot.study.errors import InvalidAnswer, NoFlashcards
from bot.study.flashcards import DEFAULT_COUNT, RATINGS, FlashcardSession, due_phrase, parse_rating, rating_name
from bot.terminal.line_input import LeaveRequested, read_line
from bot.terminal.rendering import hanging

if TYPE_CHECKING:
    from bot.app import Services

RATING_COLOURS = {"Again": "red", "Hard": "yellow", "Good": "green", "Easy": "cyan"}


def _paused_note(session: FlashcardSession) -> str:
    return (
        f"Saved your flashcards at card {session.index + 1} of {session.total}. To carry on: [bold]/cards[/] in "
        "chat, or [bold]studybot flashcards[/]."
    )


async def open_cards(
    services: Services,
    console: Console,
    user_id: str,
    user_name: str,
    *,
    explicit: bool = False,
    topic: str | None = None,
    area: str | None = None,
    count: int | None = None,
) -> FlashcardSession | None:
    """The paused session when no option was given, else a new one (which closes a paused one).
    None when nothing is due or new there (it says so)."""
    flashcards = services.flashcards
    paused = await flashcards.resumable(user_id)
    if paused is not None and not explicit:
        console.print(f"Carrying on with your flashcards, at card {paused.index + 1} of {paused.total}.")
        return await flashcards.resume(paused)
    try:
        session = await flashcards.start(user_id, user_name, topic=topic, area=area, count=count or DEFAULT_COUNT,
                                         group_id="local")  # fmt: skip
    except NoFlashcards as exc:
        console.print(escape(str(exc)))
        return None
    if paused is not None:
        await flashcards.end(paused.id)
    due = sum(r == "due" for r in session.reasons.values())
    console.print(f"{session.total} cards: {due} due for review, {session.total - due} new.")
    return session


async def run_cards(services: Services, console: Console, session: FlashcardSession, user_id: str) -> None:
    """Show the remaining cards and record each rating. '/stop' pauses and returns; Ctrl-C / Ctrl-D pause
    and let :class:`LeaveRequested` rise."""
    flashcards = services.flashcards
    while session.current_id is not None:
        card = flashcards.card(session)
        why = "due for review" if card.reason == "due" else "new card"
        title = f"flashcard {session.index + 1}/{session.total} · {escape(card.topic)} · {why}"
        console.print(Panel(f"[bold]{escape(card.question)}[/]", title=title, title_align="left"))
        try:
            raw = await read_line(console, "[dim]Think of your answer, then press Enter to see it (/stop pauses)[/] ")
            if raw.strip() == "/stop":
                console.print(_paused_note(session))
                return
            await flashcards.reveal(session.id, user_id)
            console.print(escape(card.answer))
            console.print(hanging([("Read more:", escape(card.source))], style="dim"))
            intervals = await flashcards.intervals(user_id, card.id)
            choices = "  ".join(
                f"[{RATING_COLOURS[rating_name(r)]}]{n} {rating_name(r).lower()}[/] [dim]{intervals[r]}[/]"
                for n, r in enumerate(RATINGS.values(), start=1)
            )
            console.print(f"How well did you know it?  {choices}")
            while True:
                raw = await read_line(console, "[bold magenta]rating>[/] ")
                if raw.strip() == "/stop":
                    console.print(_paused_note(session))
                    return
                try:
                    rating = parse_rating(raw)
                except InvalidAnswer as exc:
                    console.print(f"[yellow]{escape(str(exc))}[/]")
                    continue
                break
        except LeaveRequested:
            console.print(_paused_note(session))  # every rating is saved as it is given
            raise
        rated = await flashcards.rate(session.id, user_id, rating, index=session.index)
        console.print(f"[dim]{rating_name(rating)}: back in {rated.interval}.[/]")
        session = rated.session
    summary = await flashcards.summary(session)
    counts = " · ".join(f"{name} {n}" for name, n in summary.counts.items())
    console.print(f"[bold]Flashcards done:[/] {summary.rated} of {summary.total} rated ({counts}).")
    if summary.next_due is not None:
        console.print(f"Your next card is due {due_phrase(summary.next_due)}.")
