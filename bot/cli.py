"""The terminal adapter: ``studybot ingest | ask | retrieve | chat | sources``.

Heavy imports (torch, chromadb) happen inside commands, so ``studybot --help`` stays instant.
Every command runs through ``_run``, the one place that turns typed errors into a one-line
message and an exit code; tracebacks only appear with ``--verbose``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from bot.app import Services
    from bot.settings import Settings

log = logging.getLogger("studybot")
app = typer.Typer(
    name="studybot",
    help="A study assistant for Machine Learning Engineer interviews.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


class _State:
    verbose = False


def _settings() -> Settings:
    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"STUDYBOT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())
        _fail(f"invalid settings: {problems}", EXIT_ERROR)
        raise  # unreachable, _fail exits


def _fail(message: str, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _run(action: Callable[[], T]) -> T:
    """Run a command body with the CLI's error policy."""
    from bot.study.errors import InvalidQuestion, StudybotError

    try:
        return action()
    except typer.Exit:
        raise
    except InvalidQuestion as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    except StudybotError as exc:
        log.debug("command failed", exc_info=True)
        _fail(str(exc), EXIT_ERROR)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        log.error("unexpected error", exc_info=_State.verbose)
        _fail(f"unexpected {type(exc).__name__}: {exc} (run with --verbose for details)", EXIT_ERROR)
    raise AssertionError("unreachable")


def _services(settings: Settings) -> Services:
    from bot.app import build_services

    return build_services(settings)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details and tracebacks.")] = False,
) -> None:
    """studybot: answers, quizzes and mock interviews for ML engineer interviews."""
    from bot.app import configure_logging

    _State.verbose = verbose
    configure_logging("WARNING", verbose)


def _apply_log_level(settings: Settings) -> None:
    if not _State.verbose:
        logging.getLogger().setLevel(settings.log_level)


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: knowledge/).")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Drop the collection and rebuild it.")] = False,
) -> None:
    """Load, clean, split and embed study material into the vector store."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from bot.terminal import render_ingest
        from ingest.pipeline import ingest as run_ingest

        services = _services(settings)
        bar: list[Progress] = []
        task = 0

        def progress(done: int, total: int) -> None:
            nonlocal task
            if not bar:
                if total < 64:
                    return
                bar.append(
                    Progress("embedding", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console)
                )
                bar[0].start()
                task = bar[0].add_task("embed", total=total)
            bar[0].update(task, completed=done)

        targets = paths or [settings.knowledge_dir]
        try:
            report = run_ingest(targets, settings, services.store, services.embedder, reset=reset, progress=progress)
        finally:
            if bar:
                bar[0].stop()
        render_ingest(console, report)
        if report.nothing_ingested:
            _fail("nothing could be ingested", EXIT_ERROR)

    _run(body)


def _stdin_questions() -> Iterator[str]:
    for line in sys.stdin:
        if line.strip():
            yield line.rstrip("\n")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, or - to read one per line from stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Answer a question from the study notes, with numbered sources."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.study.errors import InvalidQuestion
        from bot.study.questions import clean_question
        from bot.terminal import render_answer

        if question != "-":
            q = clean_question(question, settings.max_question_chars)
        services = _services(settings)
        if question == "-":
            for raw in _stdin_questions():
                try:
                    q = clean_question(raw, settings.max_question_chars)
                except InvalidQuestion as exc:
                    _print_json({"question": raw[:200], "error": str(exc)})
                    continue
                _print_json(services.answers.ask_sync(q).to_dict())
            return
        answer = services.answers.ask_sync(q)
        if as_json:
            _print_json(answer.to_dict())
        else:
            render_answer(console, answer)

    _run(body)


@app.command()
def retrieve(
    question: Annotated[str, typer.Argument(help="The question, or - to read one per line from stdin.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many passages.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the passages retrieved for a question, with their scores."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.study.errors import EmptyKnowledgeBase, InvalidQuestion
        from bot.study.questions import clean_question
        from bot.terminal import render_results

        if question != "-":
            q = clean_question(question, settings.max_question_chars)
        services = _services(settings)
        if services.store.count() == 0:
            raise EmptyKnowledgeBase()
        if question == "-":
            for raw in _stdin_questions():
                try:
                    q = clean_question(raw, settings.max_question_chars)
                except InvalidQuestion as exc:
                    _print_json({"question": raw[:200], "error": str(exc)})
                    continue
                results = services.retriever.retrieve(q, k)
                _print_json({"question": q, "results": [p.to_dict() for p in results]})
            return
        results = services.retriever.retrieve(q, k)
        if as_json:
            _print_json({"question": q, "results": [p.to_dict() for p in results]})
        else:
            render_results(console, q, results)

    _run(body)


@app.command()
def sources(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the ingested documents and how many chunks each has."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.terminal import render_sources

        rows = _services(settings).store.sources()
        if as_json:
            _print_json({"documents": [{"source": s, "title": t, "chunks": n} for s, t, n in rows]})
        elif not rows:
            console.print("Nothing ingested yet: run [bold]studybot ingest[/].")
        else:
            render_sources(console, rows)

    _run(body)


@app.command()
def chat() -> None:
    """An interactive study session in the terminal."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        import asyncio

        from bot.chat import ChatSession

        asyncio.run(ChatSession(_services(settings), console).run())

    _run(body)


def _print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    app()
