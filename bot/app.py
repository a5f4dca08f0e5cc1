"""The wiring point: builds the embedder, the vector store and the study services from Settings.

Adapters (the CLI, the Discord bot) call ``build_services`` once and hand the result around;
nothing else in the code base constructs these objects, and there are no module-level singletons.
The learning engine (banks, database, grader) is built on first use, so ``studybot ask`` does not
pay for it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING

from bot.metrics import Metrics
from bot.settings import Settings
from bot.study.answering.cards import CardIndex, CardVectors
from bot.study.embedding import Embedder
from bot.study.errors import StudybotError
from bot.study.llm import make_chat_model
from bot.study.vectorstore import VectorStore

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from bot.study.answering import AnswerService
    from bot.study.answering.scope import Scope
    from bot.study.banks import InterviewQuestion, QuizItem, TopicList
    from bot.study.flashcards import FlashcardService
    from bot.study.grading import Grader
    from bot.study.interview import InterviewService
    from bot.study.progress import ProgressService
    from bot.study.quiz import QuizService
    from bot.study.reminders import ReminderService
    from bot.study.retrieval import Retriever
    from bot.study.store import Store

log = logging.getLogger(__name__)


class Services:
    """Every long-lived object of one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.embedder = Embedder(
            settings.resolved_embedding_model(),
            batch_size=settings.embedding_batch_size,
            export_root=settings.resolved_cache_dir() / "onnx" if settings.onnx_queries else None,
        )
        self.store = VectorStore(settings)
        self.cpu = threading.BoundedSemaphore(settings.cpu_slots)  # see Settings.cpu_slots
        self.llm: BaseChatModel | None = make_chat_model(settings)
        self._guild_stores: dict[str, VectorStore] = {}
        self._guild_answers: dict[str, AnswerService] = {}

    @cached_property
    def topics(self) -> TopicList:
        from bot.study.banks import load_topics

        return load_topics(self.settings.knowledge_dir)

    @cached_property
    def retriever(self) -> Retriever:
        """Hybrid retrieval over the shared knowledge (the answer cards' questions as a third list)."""
        return self._retriever()

    @cached_property
    def answers(self) -> AnswerService:
        """Answers from the shared knowledge (see ``answers_for`` for a server's own material)."""
        return self._answer_service(self.retriever)

    @cached_property
    def cards(self) -> CardIndex:
        """The answer cards of knowledge/cards (their phrasing vectors cached in the cache folder)."""
        from bot.study.banks import load_cards_cached

        problems: list[str] = []
        cards = load_cards_cached(self.settings.knowledge_dir, self.settings.resolved_cache_dir(), problems=problems)
        for problem in problems:  # one bad card is left out, the others still answer
            log.warning("answer card left out: %s", problem)
        return CardIndex(cards, self.embedder, CardVectors(self.settings.resolved_cache_dir(), self.embedder))

    @cached_property
    def scope(self) -> Scope:
        """The everyday questions of knowledge/scope, which tell the composer a question is not ML."""
        from bot.study.answering.scope import Scope
        from bot.study.banks import load_everyday_questions

        everyday = load_everyday_questions(self.settings.knowledge_dir)
        vectors = CardVectors(self.settings.resolved_cache_dir(), self.embedder, name="everyday-vectors")
        return Scope(self.cards, everyday, self.embedder, vectors)

    @cached_property
    def quiz_items(self) -> list[QuizItem]:
        from bot.study.banks import load_quiz_items

        return load_quiz_items(self.settings.knowledge_dir)

    @cached_property
    def interview_questions(self) -> list[InterviewQuestion]:
        from bot.study.banks import load_interview_questions

        return load_interview_questions(self.settings.knowledge_dir)

    @cached_property
    def db(self) -> Store:
        from bot.study.store import Store

        return Store(self.settings.resolved_database_url(), retry_s=self.settings.db_retry_s)

    @cached_property
    def grader(self) -> Grader:
        from bot.study.banks import load_misconceptions, load_notes
        from bot.study.grading import Grader

        notes = load_notes(self.settings.knowledge_dir)
        return Grader(
            self.embedder, quiz=self.quiz_items, interview=self.interview_questions, cards=self.cards,
            titles=lambda path: notes[path].title if path in notes else path, llm=self.llm,
            llm_timeout=self.settings.llm_timeout, misconceptions=load_misconceptions(self.settings.knowledge_dir),
        )  # fmt: skip

    @cached_property
    def quizzes(self) -> QuizService:
        from bot.study.quiz import QuizService

        return QuizService(self.db, self.grader, self.quiz_items)

    @cached_property
    def interviews(self) -> InterviewService:
        from bot.study.interview import InterviewService

        return InterviewService(
            self.db, self.grader, self.interview_questions, time_limit_s=self.settings.interview_answer_seconds
        )

    @cached_property
    def flashcards(self) -> FlashcardService:
        """The answer cards as flashcards, on the learner's one fsrs schedule."""
        from bot.study.flashcards import FlashcardService

        return FlashcardService(self.db, self.cards.cards, self.topics, self.grader.rubrics.source)

    @cached_property
    def reminders(self) -> ReminderService:
        """Opt-in daily reminders when quiz items or flashcards are due."""
        from bot.study.reminders import ReminderService

        return ReminderService(self.db, [i.id for i in self.quiz_items], [c.id for c in self.cards.cards])

    @cached_property
    def progress(self) -> ProgressService:
        from bot.study.progress import ProgressService

        return ProgressService(
            self.db, self.topics, items={i.id for i in self.quiz_items}, cards={c.id for c in self.cards.cards}
        )

    def _retriever(self, extra: list[VectorStore] | None = None) -> Retriever:
        from bot.study.retrieval import RetrievalConfig, Retriever

        s = self.settings
        config = RetrievalConfig(mode=s.retrieval_mode, per_source=s.retrieval_per_source)
        return Retriever(
            self.store, self.embedder, k=s.retrieval_k, config=config, extra=extra or [], cpu=self.cpu,
            questions=self.cards,
        )  # fmt: skip

    def guild_store(self, guild_id: int | str) -> VectorStore:
        """The collection that holds one server's uploaded material."""
        stores = self._guild_stores
        key = str(guild_id)
        if key not in stores:
            settings = self.settings.model_copy(update={"collection": f"{self.settings.collection}-g{key}"})
            stores[key] = VectorStore(settings)
        return stores[key]

    def answers_for(self, guild_id: int | str | None) -> AnswerService:
        """Answers from the shared knowledge plus, in a server, that server's own material."""
        if guild_id is None:
            return self.answers
        cache = self._guild_answers
        key = str(guild_id)
        if key not in cache:
            cache[key] = self._answer_service(self._retriever(extra=[self.guild_store(key)]))
        return cache[key]

    def _answer_service(self, retriever: Retriever) -> AnswerService:
        from bot.study.answering import AnswerService, ComposerSettings

        s = self.settings
        composing = ComposerSettings(min_relevance=s.min_relevance, card_threshold=s.card_threshold)
        return AnswerService(
            retriever, settings=composing, cards=self.cards, scope=self.scope, llm=self.llm, llm_timeout=s.llm_timeout,
            metrics=self.metrics,
        )  # fmt: skip

    def prepare_answers(self) -> None:
        """For a one-shot command: load what the first answer needs on two threads at once (the
        embedder and the keyword index on one, the answer cards on this one). Errors are left for
        the answer itself to raise, with its friendly message."""

        def store_side() -> None:
            try:
                self.embedder.load()
                if self.settings.retrieval_mode != "dense":
                    self.store.keywords.ensure_fresh()
            except Exception:  # an empty or unreachable store: the question reports it
                log.debug("preparing the store failed", exc_info=True)

        worker = threading.Thread(target=store_side, name="prepare-answers", daemon=True)
        worker.start()
        try:
            self.cards.ensure_ready()
            self.scope.ensure_ready()
        except StudybotError:
            log.debug("preparing the answer cards failed", exc_info=True)
        worker.join()

    def warm_up(self) -> None:
        """Load now what first uses would (the model, the keyword index, the quiz and interview
        banks and the services over them), then settle the GC.

        For long-running processes (the bot). Freezing the objects alive after start-up keeps the
        garbage collector from walking them again: otherwise its full passes, run from whichever
        thread allocates, stall every thread and the event loop for ~300 ms under load.
        """
        self.embedder.load()
        try:
            if self.settings.retrieval_mode != "dense":
                self.store.keywords.ensure_fresh()
            self.cards.ensure_ready()
            self.scope.ensure_ready()
        except StudybotError as exc:  # the store may come up later; the first question retries
            log.warning("warm-up could not read the vector store: %s", exc)
        try:  # else the first /quiz or interview parses the banks on the event loop (~0.8 s)
            _ = self.quizzes, self.interviews, self.progress
        except StudybotError as exc:  # not cached: the first use reports it to the learner
            log.warning("warm-up could not load the study banks: %s", exc)
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)

    async def aclose(self) -> None:
        if "db" in self.__dict__:
            await self.db.close()


def install_worker_pool(settings: Settings) -> None:
    """Give the running event loop a worker pool sized by ``worker_threads`` for ``to_thread`` calls."""
    n = settings.worker_threads
    pool = ThreadPoolExecutor(n, thread_name_prefix="studybot-worker")
    # Start every thread now: a pool that grows under load starts threads from the event loop,
    # and starting one while the others hold the GIL stalls the loop for a few hundred ms.
    started = threading.Barrier(n)
    for _ in range(n):
        pool.submit(started.wait)
    asyncio.get_running_loop().set_default_executor(pool)


def build_services(settings: Settings) -> Services:
    """Create every long-lived object. Cheap: the model, Chroma and the database open on first use."""
    return Services(settings)


def configure_logging(level: str, verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, level, logging.WARNING),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # Third-party chatter stays quiet unless --verbose.
    noisy_loggers = ("httpx", "httpx2", "httpcore", "urllib3", "chromadb", "sentence_transformers", "transformers")
    for noisy in (*noisy_loggers, "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
