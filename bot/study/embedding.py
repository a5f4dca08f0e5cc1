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
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self.encode([text])[0]
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector
