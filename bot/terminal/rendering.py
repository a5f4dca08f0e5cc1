"""Rich rendering for the terminal adapter: answers, sources, retrieval results, grades, ingest summaries."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.study.answering import Answer
from bot.study.retrieval import Passage

if TYPE_CHECKING:
    from bot.study.grading import Grade
    from ingest.pipeline import IngestReport, RemovalReport


_CITE = re.compile(r"\[(\d{1,2})\]")


def hanging(rows: list[tuple[str, str]], style: str = "") -> Table:
    """Rows of a label and a text (both rich markup) where a long text wraps under itself, indented
    past its label: a source, a mark before a key point."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for label, text in rows:
        grid.add_row(label, text, style=style)
    return grid


def render_answer(console: Console, answer: Answer, *, streamed: bool = False, numbered: bool = True) -> None:
    """An answer in a panel, its sources as note title and section, and the related questions
    (numbered when typing the number asks it, as in ``studybot chat``)."""
    if answer.notice:
        console.print(f"[yellow]{escape(answer.notice)}[/]")
    if answer.closest:
        console.print(f"[dim]Closest question I have an answer for:[/] [italic]{escape(answer.closest)}[/]")
    if not streamed or answer.composer != "llm":
        body = _CITE.sub(r"[bold cyan]\[\1][/]", escape(answer.text))
        style = "green" if answer.grounded else "yellow"
        console.print(Panel(body, border_style=style, title="answer", title_align="left"))
    if answer.citations:
        sources = Table.grid(padding=(0, 1))
        sources.add_column(no_wrap=True)
        sources.add_column()  # a long label wraps under itself, not under the number
        for c in answer.citations:
            sources.add_row(f"  [bold cyan]\\[{c.n}][/]", escape(c.passage.label))
        console.print(sources)
    if answer.related:
        console.print("[dim]You might also ask:[/]")
        related = Table.grid(padding=(0, 1))
        related.add_column(no_wrap=True)
        related.add_column()
        for i, r in enumerate(answer.related, 1):
            related.add_row(f"  [cyan]{i}.[/]" if numbered else "  -", escape(r.question))
        console.print(related)


def render_results(console: Console, question: str, passages: list[Passage]) -> None:
    """The passages from the best match down. The retriever ranks by meaning and keywords together,
    the score shown is the meaning alone: listed in the retriever's order the scores would jump about."""
    table = Table(
        title=f"Top {len(passages)} passages for: {escape(question)}",
        caption="score: similarity in meaning to the question",
        show_lines=True,
    )
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("source")
    table.add_column("text")
    for i, p in enumerate(sorted(passages, key=lambda p: p.score, reverse=True), 1):
        snippet = p.text if len(p.text) < 300 else p.text[:297] + "..."
        table.add_row(str(i), f"{p.score:.3f}", escape(f"{p.label}\n{p.source}"), escape(snippet))
    console.print(table)


def render_ingest(console: Console, report: IngestReport) -> None:
    for path, reason in report.skipped:
        console.print(f"[yellow]skipped[/] {escape(path)}: {escape(reason)}", soft_wrap=True)
    for source, n in sorted(report.removed.items()):
        console.print(f"[red]removed[/] {escape(source)}: {_chunks(n)} deleted (the file is gone)", soft_wrap=True)
    parts = [f"[bold]{report.files}[/] {_plural(report.files, 'file')} ingested"]
    if report.files:
        edited = report.deleted - sum(report.removed.values())
        parts[0] += (
            f" ({_chunks(report.chunks)}: [green]{report.added} added[/], {report.updated} updated, "
            f"{edited} deleted, {report.unchanged} unchanged)"
        )
    if report.removed:
        n = len(report.removed)
        parts.append(f"{n} removed {_plural(n, 'file')}: [red]{_chunks(sum(report.removed.values()))} deleted[/]")
    console.print(", ".join(parts) + f" in {report.seconds:.1f} s", soft_wrap=True)


def render_removal(console: Console, report: RemovalReport) -> None:
    for source, n in sorted(report.removed.items()):
        console.print(f"[red]removed[/] {escape(source)}: {_chunks(n)}", soft_wrap=True)
    for name in report.unmatched:
        console.print(f"[yellow]no ingested source matches[/] {escape(name)}", soft_wrap=True)
    n = len(report.removed)
    console.print(f"{n} {_plural(n, 'source')} removed: {_chunks(report.chunks)} deleted", soft_wrap=True)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _chunks(n: int) -> str:
    return f"{n} {_plural(n, 'chunk')}"


def render_sources(console: Console, rows: list[tuple[str, str, int]]) -> None:
    table = Table(title=f"{len(rows)} ingested documents")
    table.add_column("source")
    table.add_column("title")
    table.add_column("chunks", justify="right")
    for source, title, count in rows:
        table.add_row(escape(source), escape(title), str(count))
    table.add_section()
    table.add_row("total", "", str(sum(r[2] for r in rows)))
    console.print(table)


def render_grade(console: Console, grade: Grade) -> None:
    """A graded free-text answer: verdict, what was covered and missed, feedback, where to read."""
    colour = {"correct": "green", "partial": "yellow"}.get(grade.verdict.value, "red")
    marked = (("[green]✓[/]", grade.covered), ("[red]✗[/]", grade.missed), ("[red]![/]", grade.red_flags))
    points = hanging([(mark, escape(entry)) for mark, entries in marked for entry in entries])
    parts: list[RenderableType] = [f"[bold {colour}]{grade.verdict.value}[/] (score {grade.score:.2f})", points]
    parts.append(escape(grade.feedback))
    if grade.sources and "Read:" not in grade.feedback:  # the feedback names where to read already
        parts.append(hanging([("Read:", escape(", ".join(grade.sources)))], style="dim"))
    console.print(Panel(Group(*parts), border_style=colour, title="grade", title_align="left"))
