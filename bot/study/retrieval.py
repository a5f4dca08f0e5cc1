"""Dense retrieval over the ingested chunks, with a LangChain retriever adapter for the chain."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from bot.study.embedding import Embedder
from bot.study.vectorstore import StoredChunk, VectorStore


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: its text, where it comes from, and how similar it is to the question."""

    id: str
    text: str
    source: str
    title: str
    section: str
    score: float

    @classmethod
    def from_chunk(cls, chunk: StoredChunk, score: float | None = None) -> Passage:
        m = chunk.metadata
        return cls(
            chunk.id,
            chunk.text,
            str(m.get("source", "")),
            str(m.get("title", "")),
            str(m.get("section", "")),
            chunk.score if score is None else score,
        )

    @property
    def label(self) -> str:
        """``Title > Section`` for showing a source to a person."""
        return f"{self.title} > {self.section}" if self.section else self.title

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "text": self.text,
            "score": round(self.score, 4),
        }


class Retriever:
    """Finds the passages most similar in meaning to a question."""

    def __init__(self, store: VectorStore, embedder: Embedder, k: int = 5) -> None:
        self.store = store
        self.embedder = embedder
        self.k = k

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        vector = self.embedder.embed_query(question)
        return [Passage.from_chunk(c) for c in self.store.query(vector, k or self.k)]

    async def aretrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The same, off the event loop (the model and Chroma both block)."""
        return await asyncio.to_thread(self.retrieve, question, k)


class MergedRetriever(Retriever):
    """The shared knowledge base plus extra stores (a server's own material), best scores first."""

    def __init__(self, store: VectorStore, extra: list[VectorStore], embedder: Embedder, k: int = 5) -> None:
        super().__init__(store, embedder, k)
        self.extra = extra

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        k = k or self.k
        vector = self.embedder.embed_query(question)
        chunks = self.store.query(vector, k)
        for store in self.extra:
            if store.count():
                chunks += store.query(vector, k)
        return [Passage.from_chunk(c) for c in sorted(chunks, key=lambda c: -c.score)[:k]]


class LangChainRetriever(BaseRetriever):
    """Our retriever as a LangChain ``BaseRetriever``, so it composes in LCEL chains."""

    retriever: Retriever
    k: int = 5

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [
            Document(page_content=p.text, metadata={**p.to_dict(), "id": p.id})
            for p in self.retriever.retrieve(query, self.k)
        ]


def passage_from_document(doc: Document) -> Passage:
    m = doc.metadata
    return Passage(
        str(m.get("id", "")),
        doc.page_content,
        str(m.get("source", "")),
        str(m.get("title", "")),
        str(m.get("section", "")),
        float(m.get("score", 0.0)),
    )
