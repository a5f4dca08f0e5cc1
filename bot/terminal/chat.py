"""``studybot chat``: an interactive study session in the terminal over the study core."""

from __future__ import annotations

import asyncio
import logging

from rich.console import Console
from rich.markup import escape

from bot.app import Services
from bot.study.answering import RelatedQuestion
from bot.study.errors import InvalidQuestion, StudybotError
from bot.study.flashcards import MAX_COUNT as MAX_CARDS
from bot.study.questions import clean_question
from bot.terminal.line_input import LeaveRequested, read_line
from bot.terminal.rendering import render_answer, render_results, render_sources

log = logging.getLogger(__name__)

HELP = """[bold]Ask any question[/] about ML engineering and get an answer with its sources.
Commands:
  [cyan]/quiz [AREA|TOPIC] [N][/]  a quiz (e.g. /quiz math 5); plain /quiz carries on with a paused one
  [cyan]/review [N][/]             what is due for review, then your weakest topics
  [cyan]/cards [AREA|TOPIC] [N][/] flashcards: what is due, then new cards; rate each again/hard/good/easy
  [cyan]/interview [TOPIC] [N][/]  a mock interview with feedback and a scorecard
  [cyan]/progress[/]               mastery by area, streak and totals
  [cyan]/topics[/]                 the areas and topics you can pick from
  [cyan]/sources[/]                the documents I know
  [cyan]/retrieve QUESTION[/]      the raw passages found for a question
  [cyan]1[/], [cyan]2[/], [cyan]3[/]                 ask one of the related questions offered under an answer
  [cyan]/help[/]                   this help
  [cyan]/quit[/]                   leave (Ctrl-C and Ctrl-D too, at any prompt: a quiz or interview is saved first)"""


def wants_to_leave(line: str) -> bool:
    """/quit, /exit or /q, and the bare words people type to leave a chat ("quit", "exit", "bye")."""
    return line.strip().lower().rstrip(".!") in {"/quit", "/exit", "/q", "quit", "exit", "bye", "goodbye"}


class ChatSession:
    def __init__(
        self, services: Services, console: Console, user: tuple[str, str] = ("cli:learner", "learner")
    ) -> None:
        self.services = services
        self.console = console
        self.user_id, self.user_name = user
        self.subject = ""  # what the last answer was about: "why does it work?" next is about it
        self.card = ""  # the card that gave it: a follow-up prefers a near card of the kind asked
        self.related: list[RelatedQuestion] = []  # the questions offered under the last answer

    def _filters(self, args: list[str]) -> tuple[str | None, str | None, int | None]:
        """'/quiz math 5' -> (area, topic, count); unknown words are reported, not guessed."""
        areas = {a.id for a in self.services.topics.areas}
        topics = set(self.services.topics.topic_ids())
        area = topic = None
        count = None
        for word in args:
            if word.isdigit():
                count = int(word)
            elif word in areas:
                area = word
            elif word in topics:
                topic = word
            else:
                raise InvalidQuestion(f"Unknown area or topic {word!r}: type /topics to see them.")
        return area, topic, count

    async def run(self) -> None:
        """The session until /quit, or until Ctrl-C or Ctrl-D, after which :class:`LeaveRequested` rises
        to the command, which leaves at once."""
        try:
            await self._converse()
        except LeaveRequested:
            self.console.print("bye, good luck with the interviews!")
            raise

    async def _converse(self) -> None:
        c = self.console
        c.print("[bold]studybot[/]: your ML engineer interview study partner. Type [cyan]/help[/] for commands.")
        with c.status("loading the embedding model..."):
            await asyncio.to_thread(self.services.embedder.load)
            count = await asyncio.to_thread(self.services.store.count)
        if count == 0:
            c.print("[yellow]The knowledge base is empty: run [bold]studybot ingest[/] first.[/]")
        while True:
            line = (await read_line(c, "[bold magenta]you>[/] ")).strip()
            if not line:
                continue
            if wants_to_leave(line):
                c.print("bye, good luck with the interviews!")
                return
            try:
                await self.handle(line)
            except LeaveRequested:
                raise
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
        elif line.split()[0] in {"/quiz", "/review", "/cards", "/interview", "/progress", "/topics"}:
            await self.study(line.split()[0], line.split()[1:])
        elif line.startswith("/retrieve"):
            q = clean_question(line[len("/retrieve") :], settings.max_question_chars)
            render_results(c, q, await self.services.retriever.aretrieve(q))
        elif line.startswith("/"):
            c.print(f"Unknown command {escape(line.split()[0])}. Type /help.")
        elif line.isdigit() and 1 <= int(line) <= len(self.related):
            question = self.related[int(line) - 1].question
            c.print(f"[dim]you asked:[/] {escape(question)}")
            await self.answer(question)
        else:
            await self.answer(line)

    async def study(self, command: str, args: list[str]) -> None:
        from bot.terminal.quiz import open_quiz, run_quiz, show_progress

        c = self.console
        services = self.services
        if command == "/topics":
            for known in services.topics.areas:
                c.print(f"[bold]{known.id}[/]: {', '.join(t.id for t in known.topics)}")
        elif command == "/progress":
            await show_progress(services, c, self.user_id, None)
        elif command in {"/quiz", "/review"}:
            area, topic, count = self._filters(args)
            mode = command.removeprefix("/")
            if mode == "review" and (area or topic):
                raise InvalidQuestion("A review picks its own topics: give it a number at most, e.g. /review 5.")
            session = await open_quiz(
                services, c, self.user_id, self.user_name, mode=mode, explicit=bool(args), area=area, topic=topic,
                count=count,
            )  # fmt: skip
            if session is not None:
                await run_quiz(services, c, session, self.user_id)
        elif command == "/cards":
            from bot.terminal.flashcards import open_cards, run_cards

            area, topic, count = self._filters(args)
            if count is not None and not 1 <= count <= MAX_CARDS:
                raise InvalidQuestion(f"A set of flashcards has 1 to {MAX_CARDS} cards.")
            cards = await open_cards(services, c, self.user_id, self.user_name, explicit=bool(args), area=area,
                                     topic=topic, count=count)  # fmt: skip
            if cards is not None:
                await run_cards(services, c, cards, self.user_id)
        else:
            from bot.terminal.interview import run_interview

            area, topic, count = self._filters(args)
            await run_interview(
                services,
                c,
                topic=topic,
                area=area,
                level=None,
                questions=count,
                user_id=self.user_id,
                user_name=self.user_name,
            )

    async def answer(self, line: str) -> None:
        c = self.console
        try:
            q = clean_question(line, self.services.settings.max_question_chars)
        except InvalidQuestion as exc:
            c.print(f"[yellow]{escape(str(exc))}[/]")
            return
        streamed: list[str] = []

        def on_token(piece: str) -> None:
            streamed.append(piece)
            c.print(escape(piece), end="", soft_wrap=True)

        answer = await self.services.answers.ask(q, on_token=on_token, previous=self.subject, previous_card=self.card)
        if streamed:
            c.print()
        render_answer(c, answer, streamed=bool(streamed) and not answer.notice)
        if answer.grounded:  # an "I don't know" leaves the conversation's subject as it was
            self.subject, self.card = answer.subject, answer.card_id or ""
        self.related = answer.related
