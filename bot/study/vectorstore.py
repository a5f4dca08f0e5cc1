"""Chroma, embedded on disk or as a server, behind a small typed interface.

We always pass embeddings ourselves: a Chroma call without them falls back to Chroma's default
embedding function, which tries to download a model.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bot.settings import Settings
from bot.study.errors import StudybotError, VectorStoreUnavailable

if TYPE_CHECKING:
    from bot.study.keyword import KeywordIndex

log = logging.getLogger(__name__)

Metadata = dict[str, str | int | float | bool]


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: Metadata
    score: float  # cosine similarity, 1.0 is identical
    embedding: Sequence[float] | None = None  # only when asked for (get_all(with_embeddings=True))


@contextmanager
def _unavailable(what: str) -> Iterator[None]:
    try:
        yield
    except StudybotError:
        raise
    except Exception as exc:  # chromadb raises many unrelated types for "cannot reach"
        log.debug("vector store failure during %s", what, exc_info=True)
        raise VectorStoreUnavailable(f"the vector store is unavailable ({what}: {exc})") from exc


class VectorStore:
    """One Chroma collection with cosine distance."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Any = None
        self._collection: Any = None
        # Bumped by every change made through this object: in-process caches (the keyword index)
        # compare it to know they are stale without asking the store.
        self.version = 0

    @property
    def settings(self) -> Settings:
        return self._settings

    @cached_property
    def keywords(self) -> KeywordIndex:
        """BM25 over this store's chunks, built on first use and kept in step with the store."""
        from bot.study.keyword import KeywordIndex

        return KeywordIndex(self, refresh_s=self._settings.keyword_refresh_s)

    @property
    def location(self) -> str:
        s = self._settings
        if s.chroma_host:
            return f"chroma server {s.chroma_host}:{s.chroma_port}"
        return f"{s.chroma_dir}"

    def _connect(self) -> Any:
        if self._client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            s = self._settings
            chroma_settings = ChromaSettings(anonymized_telemetry=False)
            with _unavailable(f"connecting to {self.location}"):
                if s.chroma_host:
                    self._client = chromadb.HttpClient(
                        host=s.chroma_host, port=s.chroma_port, ssl=s.chroma_ssl, settings=chroma_settings
                    )
                else:
                    s.chroma_dir.mkdir(parents=True, exist_ok=True)
                    self._client = chromadb.PersistentClient(path=str(s.chroma_dir), settings=chroma_settings)
        return self._client

    def collection(self) -> Any:
        if self._collection is None:
            client = self._connect()
            with _unavailable("opening the collection"):
                self._collection = client.get_or_create_collection(
                    self._settings.collection,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                )
        return self._collection

    def reset(self) -> None:
        """Drop the collection (``ingest --reset``)."""
        client = self._connect()
        with _unavailable("dropping the collection"):
            if any(c.name == self._settings.collection for c in client.list_collections()):
                client.delete_collection(self._settings.collection)
        self._collection = None
        self.version += 1

    def count(self) -> int:
        with _unavailable("counting"):
            return int(self.collection().count())

    def all_metadata(self, page: int = 5000) -> dict[str, Metadata]:
        """Every chunk id with its metadata (paged, so large collections stay cheap)."""
        col = self.collection()
        out: dict[str, Metadata] = {}
        offset = 0
        with _unavailable("listing chunks"):
            while True:
                got = col.get(include=["metadatas"], limit=page, offset=offset)
                for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
                    out[cid] = dict(meta or {})
                if len(got["ids"]) < page:
                    return out
                offset += page

    def _batches(self, n: int) -> Iterator[slice]:
        size = 1000
        for start in range(0, n, size):
            yield slice(start, start + size)

    @contextmanager
    def _changing(self, what: str) -> Iterator[None]:
        """A write: ``version`` moves on once it is done (or failed part-way), never before, so a
        keyword index rebuilt meanwhile cannot take the old chunks for the new version."""
        try:
            with _unavailable(what):
                yield
        finally:
            self.version += 1

    def add(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        documents: Sequence[str],
        metadatas: Sequence[Metadata],
    ) -> None:
        col = self.collection()
        with self._changing("adding chunks"):
            for part in self._batches(len(ids)):
                col.upsert(
                    ids=list(ids[part]),
                    embeddings=[list(e) for e in embeddings[part]],
                    documents=list(documents[part]),
                    metadatas=list(metadatas[part]),
                )

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[Metadata]) -> None:
        col = self.collection()
        with self._changing("updating chunk metadata"):
            for part in self._batches(len(ids)):
                col.update(ids=list(ids[part]), metadatas=list(metadatas[part]))

    def delete(self, ids: Sequence[str]) -> None:
        col = self.collection()
        with self._changing("deleting chunks"):
            for part in self._batches(len(ids)):
                col.delete(ids=list(ids[part]))

    def query(self, embedding: Sequence[float], k: int) -> list[StoredChunk]:
        col = self.collection()
        with _unavailable("searching"):
            # No count() first: Chroma 1.x returns what there is (none from an empty collection),
            # and the extra round trip cost ~5 ms a question.
            got = col.query(
                query_embeddings=[list(embedding)], n_results=k, include=["documents", "metadatas", "distances"]
            )
        ids = got["ids"][0]
        docs = (got["documents"] or [[]])[0]
        metas = (got["metadatas"] or [[]])[0]
        dists = (got["distances"] or [[]])[0]
        return [
            StoredChunk(cid, doc or "", dict(meta or {}), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(ids, docs, metas, dists, strict=False)
        ]

    def get_all(self, page: int = 5000, *, with_embeddings: bool = False) -> list[StoredChunk]:
        """Every chunk with its text, and its embedding when asked (for keyword search and evaluation)."""
        col = self.collection()
        out: list[StoredChunk] = []
        offset = 0
        include = ["documents", "metadatas", *(["embeddings"] if with_embeddings else [])]
        with _unavailable("reading chunks"):
            while True:
                got = col.get(include=include, limit=page, offset=offset)
                ids = got["ids"]
                docs = got["documents"] or [""] * len(ids)
                metas = got["metadatas"] or [{}] * len(ids)
                vectors = got["embeddings"] if with_embeddings and got["embeddings"] is not None else [None] * len(ids)
                for cid, doc, meta, vector in zip(ids, docs, metas, vectors, strict=True):
                    out.append(StoredChunk(cid, doc or "", dict(meta or {}), 0.0, vector))
                if len(ids) < page:
                    return out
                offset += page

    def all_ids(self) -> list[str]:
        """Every chunk id (cheap: no text, no vectors)."""
        col = self.collection()
        with _unavailable("listing chunk ids"):
            return list(col.get(include=[])["ids"])

    def sources(self) -> list[tuple[str, str, int]]:
        """(source, title, chunk count) for every ingested document, sorted by source."""
        counts: Counter[str] = Counter()
        titles: dict[str, str] = {}
        for meta in self.all_metadata().values():
            src = str(meta.get("source", "?"))
            counts[src] += 1
            titles.setdefault(src, str(meta.get("title", "")))
        return [(src, titles[src], counts[src]) for src in sorted(counts)]
