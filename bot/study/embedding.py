"""The sentence-transformers embedder, loaded lazily and shared by ingestion and retrieval.

Loading the model costs seconds (importing torch and transformers), so nothing loads it until the
first text needs embedding: a re-ingest with nothing changed never pays for it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# Transformers prints a progress bar on every load, and nothing may be downloaded at run time.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder(Embeddings):
    """Normalised sentence embeddings from one sentence-transformers model.

    Thread-safe: one lock around the model, so worker threads never run it concurrently
    (two concurrent encodes on two cores only fight over the same cores).
    """

    def __init__(self, model_name_or_path: str, *, batch_size: int = 32, cache_size: int = 1024) -> None:
        self.model_name_or_path = model_name_or_path
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = cache_size
        self.texts_embedded = 0  # how many texts went through the model (benchmarks read it)
        self.cache_hits = 0
        self._batcher = QueryBatcher(lambda texts: self.encode(texts))

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> SentenceTransformer:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            log.info("loading embedding model %s", self.model_name_or_path)
            try:
                self._model = SentenceTransformer(self.model_name_or_path, device="cpu")
            except Exception as exc:  # missing path, corrupt weights, a hub name offline
                from bot.study.errors import ConfigError

                raise ConfigError(f"cannot load the embedding model {self.model_name_or_path!r}: {exc}") from exc
        return self._model

    def load(self) -> None:
        with self._lock:
            self._load()

    @property
    def max_tokens(self) -> int:
        with self._lock:
            return int(self._load().max_seq_length or 256)

    def tokenizer(self) -> Any:
        with self._lock:
            return self._load().tokenizer

    def encode(
        self,
        texts: Sequence[str],
        *,
        progress: Callable[[int], None] | None = None,
        group: int = 256,
    ) -> list[list[float]]:
        """Embed texts in groups (so a progress bar can advance), normalised to unit length."""
        out: list[list[float]] = []
        for start in range(0, len(texts), group):
            part = list(texts[start : start + group])
            with self._lock:
                vectors = self._load().encode(
                    part,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                self.texts_embedded += len(part)
            out.extend(v.tolist() for v in vectors)
            if progress:
                progress(len(part))
        return out

    # LangChain's Embeddings interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts)

    def embed_query(self, text: str) -> list[float]:
        """One question's vector: from the LRU cache, or from a micro-batch with other waiting questions."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                self.cache_hits += 1
                return hit
        vector = self._batcher.embed(text)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector


class _Pending:
    __slots__ = ("error", "text", "vector")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: list[float] | None = None
        self.error: BaseException | None = None


class QueryBatcher:
    """Encodes questions that arrive together in one model call (a micro-batch).

    Callers are worker threads. The first to arrive while the model is idle becomes the leader:
    it takes every waiting question (up to ``max_batch``), encodes them in one call and hands each
    caller its vector. Questions that arrive meanwhile wait and form the next batch. A lone
    question is encoded at once: there is no waiting window, so batching adds no latency when the
    bot is quiet, and under load one call serves many askers (a batch of 16 short questions costs
    little more than one).
    """

    def __init__(self, encode: Callable[[list[str]], list[list[float]]], max_batch: int = 64) -> None:
        self._encode = encode
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._busy = False
        self.batches = 0  # model calls made (benchmarks read them)
        self.largest = 0

    def embed(self, text: str) -> list[float]:
        mine = _Pending(text)
        with self._cond:
            self._queue.append(mine)
            while mine.vector is None and mine.error is None:
                if self._busy:
                    self._cond.wait()
                    continue
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                self._busy = True
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
        if mine.error is not None:
            raise mine.error
        assert mine.vector is not None
        return mine.vector

    def _run(self, batch: list[_Pending]) -> None:
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        try:
            vectors = self._encode([p.text for p in batch])
        except BaseException as exc:  # every waiting caller gets the error, not a hang
            for p in batch:
                p.error = exc
            return
        for p, vector in zip(batch, vectors, strict=True):
            p.vector = vector
