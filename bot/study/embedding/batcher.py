"""Micro-batching of questions that arrive together: one model call serves them all."""

from __future__ import annotations

import threading
from collections.abc import Callable


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
