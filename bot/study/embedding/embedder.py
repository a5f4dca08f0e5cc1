"""The embedder shared by ingestion, retrieval, answer cards and grading, loaded lazily.

Two ways to run the same model:

- sentence-transformers, the reference: ingestion always uses it, and so does everything when
  there is no usable ONNX export. Importing it (torch, transformers) costs seconds.
- an ONNX export of it (``onnx.py``), for everything else when ``export_root`` is given and the
  export there still belongs to the model: starting costs a fraction of a second.

Nothing loads until the first text needs embedding, so a re-ingest with nothing changed never
pays for either.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from bot.study.embedding.batcher import QueryBatcher
from bot.study.embedding.onnx import ExportUnavailable, OnnxEncoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# Transformers prints a progress bar on every load, and nothing may be downloaded at run time.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ONNX = "onnx"
REFERENCE = "sentence-transformers"


class Embedder(Embeddings):
    """Normalised sentence embeddings from one model.

    Thread-safe: one lock around the model, so worker threads never run it concurrently
    (two concurrent encodes on two cores only fight over the same cores).
    """

    def __init__(
        self,
        model_name_or_path: str,
        *,
        batch_size: int = 32,
        cache_size: int = 1024,
        export_root: Path | None = None,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.batch_size = batch_size
        self.export_root = export_root  # where ONNX exports live; None: sentence-transformers only
        self._model: SentenceTransformer | None = None
        self._onnx: OnnxEncoder | None = None
        self._backend = ""  # "" until the first encode chooses
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = cache_size
        self.texts_embedded = 0  # how many texts went through the model (benchmarks read it)
        self.cache_hits = 0
        self._batcher = QueryBatcher(lambda texts: self.encode(texts))

    @property
    def loaded(self) -> bool:
        return self._model is not None or self._onnx is not None

    @property
    def backend(self) -> str:
        """``onnx`` or ``sentence-transformers``: what embeds questions (chosen on first use)."""
        with self._lock:
            self._choose()
            return self._backend

    def _reference(self) -> SentenceTransformer:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            log.info("loading embedding model %s", self.model_name_or_path)
            try:
                self._model = SentenceTransformer(self.model_name_or_path, device="cpu")
            except Exception as exc:  # missing path, corrupt weights, a hub name offline
                from bot.study.errors import ConfigError

                raise ConfigError(f"cannot load the embedding model {self.model_name_or_path!r}: {exc}") from exc
        return self._model

    def _choose(self) -> None:
        """Pick the backend once: the ONNX export when there is a usable one, else the reference."""
        if self._backend:
            return
        if self.export_root is not None:
            try:
                self._onnx = OnnxEncoder.open(self.export_root, self.model_name_or_path)
                self._backend = ONNX
                log.info("embedding questions with the ONNX export in %s", self._onnx.folder)
                return
            except ExportUnavailable as exc:
                log.warning("embedding with sentence-transformers, slower to start: %s", exc.reason)
        self._backend = REFERENCE

    def load(self) -> None:
        """Load whatever embeds questions now, instead of on the first question."""
        with self._lock:
            self._choose()
            if self._backend == REFERENCE:
                self._reference()

    def ensure_export(self) -> str:
        """Export the model to ONNX unless a usable export exists.

        Returns ``current`` (there was one), ``made`` (there is one now) or ``none``.

        Loads sentence-transformers only when an export has to be made. Never raises for an
        export that cannot be made (a hub model name, a tracing failure): it logs why, and
        questions keep using sentence-transformers.
        """
        if self.export_root is None:
            return "none"
        from bot.study.embedding import onnx

        with self._lock:
            try:
                opened = OnnxEncoder.open(self.export_root, self.model_name_or_path)
                if not self._backend:  # keep it: questions would open the same export again
                    self._onnx, self._backend = opened, ONNX
                return "current"
            except ExportUnavailable as exc:
                if not exc.fixable:
                    log.info("no ONNX export for questions: %s", exc.reason)
                    return "none"
            try:
                onnx.export(self._reference(), self.model_name_or_path, self.export_root)
            except ExportUnavailable as exc:
                log.warning("no ONNX export for questions: %s", exc.reason)
                return "none"
            except Exception as exc:  # torch's exporter failing on a model it cannot trace
                log.warning("no ONNX export for questions: exporting failed (%s)", exc, exc_info=True)
                return "none"
            if self._backend == REFERENCE and self._onnx is None:
                self._backend = ""  # the next question may use the new export
            return "made"

    def encode(
        self,
        texts: Sequence[str],
        *,
        progress: Callable[[int], None] | None = None,
        group: int = 256,
        reference: bool = False,
    ) -> list[list[float]]:
        """Embed texts in groups (so a progress bar can advance), normalised to unit length.

        ``reference``: with sentence-transformers whatever embeds questions (ingestion uses it).
        """
        out: list[list[float]] = []
        for start in range(0, len(texts), group):
            part = list(texts[start : start + group])
            with self._lock:
                if not reference:
                    self._choose()
                if not reference and self._onnx is not None:
                    vectors: Any = self._onnx.encode(part, batch_size=self.batch_size)
                else:
                    vectors = self._reference().encode(
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

    def clear_cache(self) -> None:
        """Forget every cached question vector (benchmarks measure questions that pay for their embedding)."""
        with self._lock:
            self._cache.clear()

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
