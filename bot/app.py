"""The wiring point: builds the embedder, the vector store and the study services from Settings.

Adapters (the CLI, the Discord bot) call ``build_services`` once and hand the result around;
nothing else in the code base constructs these objects, and there are no module-level singletons.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.settings import Settings
from bot.study.answering import AnswerService
from bot.study.embedding import Embedder
from bot.study.llm import make_chat_model
from bot.study.retrieval import Retriever
from bot.study.vectorstore import VectorStore


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    store: VectorStore
    retriever: Retriever
    answers: AnswerService


def build_services(settings: Settings) -> Services:
    """Create every long-lived object. Cheap: the model and Chroma open on first use."""
    embedder = Embedder(settings.resolved_embedding_model(), batch_size=settings.embedding_batch_size)
    store = VectorStore(settings)
    retriever = Retriever(store, embedder, k=settings.retrieval_k)
    answers = AnswerService(
        retriever,
        min_relevance=settings.min_relevance,
        max_chars=settings.answer_max_chars,
        llm=make_chat_model(settings),
        llm_timeout=settings.llm_timeout,
    )
    return Services(settings, embedder, store, retriever, answers)


def configure_logging(level: str, verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, level, logging.WARNING),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # Third-party chatter stays quiet unless --verbose.
    for noisy in ("httpx", "chromadb", "sentence_transformers", "transformers", "urllib3", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
