"""``studybot chat``: an interactive study session in the terminal over the study core."""

from __future__ import annotations

import asyncio
import logging

from rich.console import Console
from rich.markup import escape

from bot.app import Services
from bot.study.errors import InvalidQuestion, StudybotError
from bot.study.questions import clean_question
from bot.terminal import render_answer, render_results, render_sources

log = logging.getLogger(__name__)

HELP = """[bold]Ask any question[/] about ML engineering and get an answer with its sources.
Commands:
  [cyan]/sources[/]          the documents I know
  [cyan]/retrieve QUESTION[/] the raw passages found for a question
  [cyan]/help[/]             this help
  [cyan]/quit[/]             leave (Ctrl-D works too)"""


class ChatSession:
    def __init__(self, services: Services, console: Console) -> None:
        self.services = services
        self.console = console

    async def _read(self) -> str | None:
        try:
            return await asyncio.to_thread(self.console.input, "[bold magenta]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            return None

    async def run(self) -> None:
        c = self.console
        c.print("[bold]studybot[/]: your ML engineer interview study partner. Type [cyan]/help[/] for commands.")
        with c.status("loading the embedding model..."):
            await asyncio.to_thread(self.services.embedder.load)
            count = await asyncio.to_thread(self.services.store.count)
        if count == 0:
            c.print("[yellow]The knowledge base is empty: run [bold]studybot ingest[/] first.[/]")
        while True:
            line = await self._read()
            if line is None:
                c.print("\nbye, good luck with the interviews!")
                return
            line = line.strip()
            if not line:
                continue
            if line in {"/quit", "/exit", "/q"}:
                c.print("bye, good luck with the interviews!")
                return
            try:
                await self.handle(line)
            except StudybotError as exc:
                c.print(f"[red]{escape(str(exc))}[/]")
            except Exception:
                log.exception("chat command failed")
                c.print("[red]Sorry, something went wrong with that one. Try again, or run with --verbose.[/]")

    async def handle(self, line: str) -> None:
        c = self.console
        settings = self.services.settings
        if line == "/help":
            c.print(HELP)
        elif line == "/sources":
            rows = await asyncio.to_thread(self.services.store.sources)
            render_sources(c, rows)
        elif line.startswith("/retrieve"):
            q = clean_question(line[len("/retrieve") :], settings.max_question_chars)
            render_results(c, q, await self.services.retriever.aretrieve(q))
        elif line.startswith("/"):
            c.print(f"Unknown command {escape(line.split()[0])}. Type /help.")
        else:
            try:
                q = clean_question(line, settings.max_question_chars)
            except InvalidQuestion as exc:
                c.print(f"[yellow]{escape(str(exc))}[/]")
                return
            streamed: list[str] = []

            def on_token(piece: str) -> None:
                streamed.append(piece)
                c.print(escape(piece), end="", soft_wrap=True)

            answer = await self.services.answers.ask(q, on_token=on_token)
            if streamed:
                c.print()
            render_answer(c, answer, streamed=bool(streamed) and not answer.notice)
