"""The RAG chain as a service: question -> (follow-up resolved) -> passages and cards -> answer.

One LCEL chain: the retriever, then the LLM composer if one is configured, else the offline
composer; the LLM path falls back to the offline answer (saying so) on any failure or timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from bot.study.answering.cards import CardIndex, CardMatch
from bot.study.answering.composer import Composer, ComposerSettings, relevant
from bot.study.answering.llm import LLMComposer
from bot.study.answering.model import Answer
from bot.study.answering.questions import follow_up_query, spelled_out
from bot.study.answering.scope import Scope
from bot.study.errors import EmptyKnowledgeBase
from bot.study.retrieval import LangChainRetriever, Passage, Retriever, passage_from_document

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = logging.getLogger(__name__)

TokenSink = Callable[[str], None]


class AnswerService:
    """Answers questions, offline or with an LLM; see the module docstring."""

    def __init__(
        self,
        retriever: Retriever,
        *,
        settings: ComposerSettings | None = None,
        cards: CardIndex | None = None,
        scope: Scope | None = None,
        llm: BaseChatModel | None = None,
        llm_timeout: float = 30.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.retriever = retriever
        self.cards = cards
        self.metrics = metrics
        self.cpu = retriever.cpu  # composing is Python work too: the same gate as searching
        self.settings = settings or ComposerSettings()
        self.composer = Composer(self.settings, cards, scope)
        self.llm = LLMComposer(llm) if llm is not None else None
        self.llm_timeout = llm_timeout
        self.lc_retriever = LangChainRetriever(retriever=retriever, k=retriever.k)
        self.chain: Runnable[dict[str, Any], Answer] = RunnableLambda(
            self._with_documents, afunc=self._awith_documents
        ) | RunnableLambda(self._compose_sync, afunc=self._compose)

    async def ask(
        self,
        question: str,
        *,
        on_token: TokenSink | None = None,
        previous: str = "",
        previous_card: str = "",
    ) -> Answer:
        """Answer a (validated) question. ``previous`` is the subject of the learner's previous answer
        in the same conversation (``Answer.subject``): a follow-up such as "why does it work?" is
        searched with it, and gets the previous answer's card (``previous_card``, its
        ``Answer.card_id``) again only when no near card of the kind asked is there. ``on_token``
        receives LLM text as it streams.

        Without an LLM the whole chain runs in one worker thread: the event loop then only waits
        on one future per answer, and stays responsive when many learners ask at once.
        """
        inputs = self._inputs(question, previous, previous_card, on_token)
        started = time.perf_counter()
        if self.llm is None:
            answer = await asyncio.to_thread(self.chain.invoke, inputs)
        else:
            answer = await self.chain.ainvoke(inputs)
        if self.metrics is not None:
            self.metrics.answer_seconds.labels(answer.composer).observe(time.perf_counter() - started)
        return answer

    def ask_sync(self, question: str, *, previous: str = "", previous_card: str = "") -> Answer:
        """The same from synchronous code (no streaming)."""
        return self.chain.invoke(self._inputs(question, previous, previous_card, None))

    @staticmethod
    def _inputs(question: str, previous: str, previous_card: str, on_token: TokenSink | None) -> dict[str, Any]:
        follow_up = follow_up_query(question, previous)
        return {
            "question": question,
            "searched": spelled_out(follow_up or question),
            "answered": previous_card if follow_up else "",
            "on_token": on_token,
        }

    # ---- the chain's steps ------------------------------------------------------------------------

    def _with_documents(self, inputs: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        return {**inputs, "documents": self.lc_retriever.invoke(inputs["searched"], config)}

    async def _awith_documents(self, inputs: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        return {**inputs, "documents": await self.lc_retriever.ainvoke(inputs["searched"], config)}

    def _passages(self, inputs: dict[str, Any]) -> list[Passage]:
        passages = [passage_from_document(d) for d in inputs["documents"]]
        if not passages and self.retriever.store.count() == 0:
            raise EmptyKnowledgeBase()
        return passages

    def _matches(self, searched: str) -> list[CardMatch]:
        if self.cards is None or not len(self.cards):
            return []
        return self.cards.match(searched, self.retriever.embedder.embed_query(searched))

    def _section(self, note: str, section: str) -> Passage | None:
        chunk = self.retriever.store.keywords.section(note, section)
        return Passage.from_chunk(chunk, 1.0) if chunk is not None else None

    def _offline(self, inputs: dict[str, Any], passages: Sequence[Passage], matches: Sequence[CardMatch]) -> Answer:
        with self.cpu:
            answer = self.composer.compose(
                inputs["searched"],
                passages,
                matches,
                self._section,
                answered=inputs["answered"],
                asked=inputs["question"],
            )
        answer.question, answer.searched = inputs["question"], inputs["searched"]
        return answer

    def _compose_sync(self, inputs: dict[str, Any]) -> Answer:
        passages = self._passages(inputs)
        matches = self._matches(inputs["searched"])
        useful = relevant(passages, self.settings.min_relevance)
        if self.llm is None or not useful:
            return self._offline(inputs, passages, matches)
        try:  # the model enforces its own timeout here
            text = self.llm.chain.invoke(self.llm.inputs(inputs["searched"], useful, self._for_llm(matches)))
        except Exception as exc:
            return self._fallback(inputs, passages, matches, exc)
        return self._finish(inputs, useful, matches, text)

    async def _compose(self, inputs: dict[str, Any]) -> Answer:
        if self.llm is None:  # all of it in a worker thread: composing is CPU work
            return await asyncio.to_thread(self._compose_sync, inputs)
        passages = await asyncio.to_thread(self._passages, inputs)
        matches = await asyncio.to_thread(self._matches, inputs["searched"])
        useful = relevant(passages, self.settings.min_relevance)
        if not useful:
            return await asyncio.to_thread(self._offline, inputs, passages, matches)
        try:
            text = await asyncio.wait_for(
                self._llm_text(inputs["searched"], useful, self._for_llm(matches), inputs["on_token"]),
                self.llm_timeout,
            )
        except Exception as exc:  # timeout, connection refused, HTTP 5xx, bad payload...
            return await asyncio.to_thread(self._fallback, inputs, passages, matches, exc)
        return self._finish(inputs, useful, matches, text)

    def _for_llm(self, matches: Sequence[CardMatch]) -> list[CardMatch]:
        """The cards worth showing the model: the confident ones, at most two."""
        floor = self.settings.card_threshold - 0.1
        return [m for m in matches if m.score >= floor][:2]

    def _finish(
        self, inputs: dict[str, Any], useful: Sequence[Passage], matches: Sequence[CardMatch], text: str
    ) -> Answer:
        assert self.llm is not None
        answer = self.llm.finish(inputs["question"], useful, text)
        offline = self.composer.compose(
            inputs["searched"], useful, matches, self._section, answered=inputs["answered"], asked=inputs["question"]
        )
        answer.related, answer.subject, answer.searched = offline.related, offline.subject, inputs["searched"]
        return answer

    def _fallback(
        self, inputs: dict[str, Any], passages: Sequence[Passage], matches: Sequence[CardMatch], exc: BaseException
    ) -> Answer:
        reason = "timed out" if isinstance(exc, TimeoutError) else f"failed ({type(exc).__name__})"
        log.warning("LLM %s; falling back to the offline answer", reason)
        if self.metrics is not None:
            self.metrics.llm_fallbacks.inc()
        answer = self._offline(inputs, passages, matches)
        answer.notice = f"The language model {reason}, so this answer comes from the study notes as written."
        return answer

    async def _llm_text(
        self, question: str, passages: Sequence[Passage], cards: Sequence[CardMatch], on_token: TokenSink | None
    ) -> str:
        assert self.llm is not None
        inputs = self.llm.inputs(question, passages, cards)
        if on_token is None:
            return await self.llm.chain.ainvoke(inputs)
        parts: list[str] = []
        async for piece in self.llm.chain.astream(inputs):
            parts.append(piece)
            on_token(piece)
        return "".join(parts)
