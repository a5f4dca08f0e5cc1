"""The ``studybot`` command line (typer): the study commands, and the few that ingest, serve Discord or ask its health.

The commands stay thin: the work lives in the study core, ``ingest/``, ``bot.discord_app.runner``
and ``bot.healthcheck``; the terminal's own screens are the sibling modules of this package.

Heavy imports (torch, chromadb) happen inside commands, so ``studybot --help`` stays instant.
Every command runs through ``_run``, the one place that turns typed errors into a one-line
message and an exit code; tracebacks only appear with ``--verbose``.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

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
    from bot.terminal.line_input import LeaveRequested

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
    except LeaveRequested as exc:  # Ctrl-C or Ctrl-D at a prompt: the flow has said goodbye already
        _leave_now(130 if exc.interrupted else 0)
    except Exception as exc:
        log.error("unexpected error", exc_info=_State.verbose)
        _fail(f"unexpected {type(exc).__name__}: {exc} (run with --verbose for details)", EXIT_ERROR)
    raise AssertionError("unreachable")


def _leave_now(code: int) -> NoReturn:
    """End the process at once after Ctrl-C or Ctrl-D at a prompt.

    By then the session is saved and the database closed; what remains is tearing the interpreter
    down, which takes over a second once torch is loaded, and the learner asked to leave now. So
    flush, run the exit hooks (logging's among them) and skip the rest. Inside a test's CliRunner,
    which stands in for stdin and stdout, exit normally instead."""
    if _streams_replaced():
        raise typer.Exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)


def _streams_replaced() -> bool:
    return sys.stdin is not sys.__stdin__ or sys.stdout is not sys.__stdout__


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
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeRemainingColumn

        from bot.terminal.rendering import render_ingest
        from ingest.pipeline import ingest as run_ingest

        services = _services(settings)
        bar: list[Progress] = []
        task = TaskID(0)

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
        if not report.unreadable and not report.found_nothing:
            _export_for_questions(services)
        if any(p.resolve() == settings.knowledge_dir.resolve() for p in targets):
            embedded = services.cards.ensure_ready()  # the answer cards' phrasings, embedded once
            services.scope.ensure_ready()  # and the everyday questions that mark a question as off-topic
            console.print(f"{len(services.cards)} answer cards ({embedded} new phrasings embedded)", soft_wrap=True)
        if report.unreadable:
            _fail("none of the files found could be read", EXIT_ERROR)
        if report.found_nothing:
            where = ", ".join(str(p) for p in targets)
            _fail(f"no Markdown, text, HTML or PDF files under {where}", EXIT_ERROR)

    _run(body)


def _export_for_questions(services: Services) -> None:
    """Make the ONNX export that one-shot commands embed questions with, once per model."""
    import time

    started = time.perf_counter()
    with console.status("checking the ONNX export that embeds questions (made once per model)"):
        outcome = services.embedder.ensure_export()
    if outcome == "made":
        console.print(f"question embeddings: ONNX export ready ({time.perf_counter() - started:.0f} s)")


@app.command()
def remove(
    paths: Annotated[
        list[str], typer.Argument(help="Sources as `studybot sources` lists them, or folders above them.")
    ],
) -> None:
    """Delete the chunks of ingested sources, whether or not their files still exist."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.terminal.rendering import render_removal
        from ingest.pipeline import remove_sources

        report = remove_sources(_services(settings).store, paths, settings)
        render_removal(console, report)
        if report.unmatched:
            _fail("nothing ingested under " + ", ".join(report.unmatched) + ": see `studybot sources`", EXIT_ERROR)

    _run(body)


def _batch_questions(settings: Settings) -> Iterator[str]:
    """The questions of a `-` batch, one per line, cleaned; a bad line (a blank one too) gets its error
    line instead, so output line n answers input line n."""
    from bot.study.errors import InvalidQuestion
    from bot.study.questions import clean_question

    for line in sys.stdin:
        raw = line.rstrip("\r\n")
        try:
            yield clean_question(raw, settings.max_question_chars)
        except InvalidQuestion as exc:
            _print_json({"question": raw[:200], "error": str(exc)})


def _stdin_json_lines() -> Iterator[str]:
    """JSON lines; blank lines between them are no records."""
    for line in sys.stdin:
        if line.strip():
            yield line.rstrip("\r\n")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, or - to read one per line from stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Answer a question from the study notes, with numbered sources."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.study.questions import clean_question
        from bot.terminal.rendering import render_answer

        if question != "-":
            q = clean_question(question, settings.max_question_chars)
        services = _services(settings)
        services.prepare_answers()
        if question == "-":
            for q in _batch_questions(settings):
                _print_json(services.answers.ask_sync(q).to_dict())
            return
        answer = services.answers.ask_sync(q)
        if as_json:
            _print_json(answer.to_dict())
        else:
            render_answer(console, answer, numbered=False)

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
        from bot.study.errors import EmptyKnowledgeBase
        from bot.study.questions import clean_question
        from bot.terminal.rendering import render_results

        if question != "-":
            q = clean_question(question, settings.max_question_chars)
        services = _services(settings)
        if services.store.count() == 0:
            raise EmptyKnowledgeBase()
        if question == "-":
            for q in _batch_questions(settings):
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
        from bot.terminal.rendering import render_sources

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
        from bot.terminal.chat import ChatSession

        async def go(services: Services) -> None:
            await ChatSession(services, console, _cli_user(settings)).run()

        _engine(settings, go)

    _run(body)


def _cli_user(settings: Settings) -> tuple[str, str]:
    if settings.user:
        return f"cli:{settings.user}", settings.user
    from bot.terminal.interview import default_user  # the login name, guarded for containers

    return default_user()


def _engine(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    """Run async study-engine work with the process's services, closing the database after."""

    async def go() -> T:
        services = _services(settings)
        try:
            return await work(services)
        finally:
            await services.aclose()

    return asyncio.run(go())


@app.command()
def grade(
    source: Annotated[str | None, typer.Argument(help="- to read JSON lines {question, answer} from stdin.")] = None,
    question: Annotated[str | None, typer.Option("--question", "-q", help="The question.")] = None,
    answer: Annotated[str | None, typer.Option("--answer", "-a", help="Your answer.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Grade a free-text answer against the rubric of the closest bank question."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.study.errors import InvalidQuestion, StudybotError
        from bot.study.questions import clean_question

        if source == "-":

            async def batch(services: Services) -> None:
                for line in _stdin_json_lines():
                    try:
                        row = json.loads(line)
                        if not isinstance(row, dict):
                            raise ValueError("not an object")
                        q = clean_question(str(row.get("question", "")), settings.max_question_chars)
                        rubric = await services.grader.arubric_for_question(q)
                        result = await services.grader.agrade(rubric, str(row.get("answer", "")))
                        _print_json({"question": q, **result.to_dict()})
                    except ValueError as exc:
                        _print_json({"error": f"not a JSON object with question and answer ({exc})"})
                    except StudybotError as exc:
                        _print_json({"question": str(row.get("question", ""))[:200], "error": str(exc)})

            _engine(settings, batch)
            return
        if question is None or answer is None:
            raise InvalidQuestion("Give --question and --answer, or - to read JSON lines from stdin.")
        q = clean_question(question, settings.max_question_chars)

        async def one(services: Services) -> None:
            rubric = await services.grader.arubric_for_question(q)
            result = await services.grader.agrade(rubric, answer)
            if as_json:
                _print_json({"question": q, **result.to_dict()})
            else:
                from bot.terminal.rendering import render_grade

                render_grade(console, result)

        _engine(settings, one)

    _run(body)


@app.command()
def topics() -> None:
    """List the study areas and topics (for --area and --topic)."""
    settings = _settings()

    def body() -> None:
        from rich.table import Table

        from bot.study.banks import load_topics

        table = Table(title="Areas and topics")
        table.add_column("area")
        table.add_column("topics")
        for area in load_topics(settings.knowledge_dir).areas:
            table.add_row(f"[bold]{area.id}[/]\n{escape(area.title)}", ", ".join(t.id for t in area.topics))
        console.print(table)

    _run(body)


@app.command()
def quiz(
    area: Annotated[str | None, typer.Option(help="Only this area (see `studybot topics`).")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    difficulty: Annotated[str | None, typer.Option(help="easy, medium or hard.")] = None,
    count: Annotated[int | None, typer.Option(min=1, max=25, help="How many questions (default 5).")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--type", help="mcq, multi, true_false or short (repeatable).")
    ] = None,
    new: Annotated[bool, typer.Option("--new", help="Start a new quiz even if one is paused.")] = False,
) -> None:
    """Take a quiz (a paused one carries on unless you give options); answers update your schedule."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.terminal.quiz import open_quiz, run_quiz

        user_id, name = _cli_user(settings)
        explicit = new or bool(kind) or any(v is not None for v in (area, topic, difficulty, count))

        async def go(services: Services) -> None:
            session = await open_quiz(
                services, console, user_id, name, explicit=explicit, area=area, topic=topic,
                difficulty=difficulty, types=kind, count=count,
            )  # fmt: skip
            if session is not None:
                await run_quiz(services, console, session, user_id)

        _engine(settings, go)

    _run(body)


@app.command()
def review(
    count: Annotated[int | None, typer.Option(min=1, max=25, help="How many items (default 10).")] = None,
) -> None:
    """Review what is due (spaced repetition), then your weakest topics; a paused review carries on."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.terminal.quiz import open_quiz, run_quiz

        user_id, name = _cli_user(settings)

        async def go(services: Services) -> None:
            session = await open_quiz(
                services, console, user_id, name, mode="review", explicit=count is not None, count=count
            )
            if session is not None:  # None: nothing was due, and the learner was told what to do instead
                await run_quiz(services, console, session, user_id)

        _engine(settings, go)

    _run(body)


@app.command()
def flashcards(
    area: Annotated[str | None, typer.Option(help="Only this area (see `studybot topics`).")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    count: Annotated[int | None, typer.Option(min=1, max=50, help="How many cards [default: 10].")] = None,
    new: Annotated[bool, typer.Option("--new", help="Start afresh even if a set is paused.")] = False,
) -> None:
    """Flashcards the Anki way: what is due first, then new cards; rate each again, hard, good or easy."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.terminal.flashcards import open_cards, run_cards

        user_id, name = _cli_user(settings)
        explicit = new or any(v is not None for v in (area, topic, count))

        async def go(services: Services) -> None:
            session = await open_cards(services, console, user_id, name, explicit=explicit, area=area, topic=topic,
                                       count=count)  # fmt: skip
            if session is not None:
                await run_cards(services, console, session, user_id)

        _engine(settings, go)

    _run(body)


@app.command()
def interview(
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    area: Annotated[str | None, typer.Option(help="Only this area.")] = None,
    level: Annotated[str | None, typer.Option(help="junior, mid or senior.")] = None,
    questions: Annotated[int | None, typer.Option(min=3, max=7, help="How many questions, 3 to 7 (default 5).")] = None,
) -> None:
    """A mock interview: answer in your own words, get feedback and a scorecard (a paused one carries on)."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.terminal.interview import run_interview

        user_id, user_name = _cli_user(settings)

        async def go(services: Services) -> None:
            await run_interview(
                services,
                console,
                topic=topic,
                area=area,
                level=level,
                questions=questions,
                user_id=user_id,
                user_name=user_name,
                raise_errors=True,
            )

        _engine(settings, go)

    _run(body)


@app.command()
def progress(
    chart: Annotated[Path | None, typer.Option(help="Save the mastery chart (PNG) to this file.")] = None,
) -> None:
    """Your mastery by area, streak, totals and what is due."""
    settings = _settings()
    _apply_log_level(settings)

    def body() -> None:
        from bot.terminal.quiz import show_progress

        user_id, _ = _cli_user(settings)
        _engine(settings, lambda services: show_progress(services, console, user_id, chart))

    _run(body)


@app.command("export-data")
def export_data(out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None) -> None:
    """Export everything studybot stores about you, as JSON."""
    settings = _settings()

    def body() -> None:
        user_id, _ = _cli_user(settings)
        data = _engine(settings, lambda services: services.db.export_user(user_id))
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if out is None:
            sys.stdout.write(text + "\n")
        else:
            out.write_text(text + "\n", encoding="utf-8")
            console.print(f"Exported {len(data['attempts'])} answers to {escape(str(out))}")

    _run(body)


@app.command("forget-me")
def forget_me(yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False) -> None:
    """Delete everything studybot stores about you (answers, reviews, sessions)."""
    settings = _settings()

    def body() -> None:
        user_id, name = _cli_user(settings)
        if not yes and not typer.confirm(f"Delete all study data of {name}? This cannot be undone."):
            console.print("Nothing deleted.")
            return
        removed = _engine(settings, lambda services: services.db.delete_user(user_id))
        console.print(f"Deleted {removed} records about {escape(name)}.")

    _run(body)


@app.command()
def run(
    shard_count: Annotated[
        str | None,
        typer.Option("--shard-count", help="Shards across every process, or auto (STUDYBOT_SHARD_COUNT)."),
    ] = None,
    shards: Annotated[
        str | None, typer.Option("--shards", help="The shard ids this process runs: 0-3 or 0,2 (STUDYBOT_SHARD_IDS).")
    ] = None,
) -> None:
    """Run the Discord bot (token from STUDYBOT_DISCORD_TOKEN or STUDYBOT_DISCORD_TOKEN_FILE)."""
    settings = _with_shards(_settings(), shard_count, shards)
    if not _State.verbose:  # the bot logs its start, shards and shutdown at INFO, whatever the level
        logging.getLogger().setLevel(min(logging.INFO, logging.getLevelName(settings.log_level)))

    def body() -> None:
        from bot.discord_app.runner import run as run_bot

        run_bot(settings)

    _run(body)


def _with_shards(settings: Settings, shard_count: str | None, shards: str | None) -> Settings:
    """The settings with --shard-count and --shards, which override the environment, checked."""
    from bot.settings import parse_shard_ids
    from bot.study.errors import ConfigError

    if shard_count is None and shards is None:
        return settings
    update: dict[str, object] = {}
    if shard_count is not None:
        count = shard_count.strip().lower()
        if count != "auto" and not (count.isdigit() and 1 <= int(count) <= 10_000):
            _fail(f"--shard-count: a number from 1 to 10000, or auto, not {shard_count!r}", EXIT_BAD_INPUT)
        update["shard_count"] = count if count == "auto" else int(count)
    if shards is not None:
        try:
            parse_shard_ids(shards)
        except ValueError as exc:
            _fail(f"--shards: {exc}", EXIT_BAD_INPUT)
        update["shard_ids"] = shards.strip()
    settings = settings.model_copy(update=update)
    try:
        settings.shard_id_list()
    except ConfigError as exc:
        _fail(f"{exc} (--shard-count and --shards set them too)", EXIT_BAD_INPUT)
    return settings


@app.command()
def health() -> None:
    """Ask the running bot's /healthz (STUDYBOT_HTTP_HOST/PORT); exit 0 when healthy, 1 when not."""
    from bot.healthcheck import check, health_url

    settings = _settings()
    if settings.http_port == 0:
        _fail("the health endpoint is off (STUDYBOT_HTTP_PORT=0)", EXIT_ERROR)
    healthy, said = check(health_url(settings))
    (console if healthy else err_console).print(said, markup=False, highlight=False, soft_wrap=True)
    if not healthy:
        raise typer.Exit(EXIT_ERROR)


def _print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    app()
