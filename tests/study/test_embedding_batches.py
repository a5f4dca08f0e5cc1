"""Query micro-batching and the query cache: questions that arrive together share one model call."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from bot.study.embedding import Embedder, QueryBatcher


class SlowModel:
    """Stands in for the model: records each call's batch and takes 50 ms per call."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on
        self.running = 0
        self.overlapped = False

    def encode(self, texts: list[str]) -> list[list[float]]:
        self.running += 1
        self.overlapped |= self.running > 1
        self.calls.append(list(texts))
        time.sleep(0.05)
        self.running -= 1
        if self.fail_on in texts:
            raise RuntimeError("model failed")
        return [[float(len(t))] for t in texts]


def _ask_together(batcher: QueryBatcher, texts: list[str]) -> dict[str, object]:
    results: dict[str, object] = {}
    start = threading.Barrier(len(texts))

    def ask(text: str) -> None:
        start.wait()
        try:
            results[text] = batcher.embed(text)
        except RuntimeError as exc:
            results[text] = exc

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    return results


def test_a_lone_question_is_encoded_at_once() -> None:
    model = SlowModel()
    batcher = QueryBatcher(model.encode)
    started = time.perf_counter()
    assert batcher.embed("abc") == [3.0]
    assert time.perf_counter() - started < 0.5
    assert model.calls == [["abc"]]


def test_questions_arriving_together_share_model_calls() -> None:
    model = SlowModel()
    batcher = QueryBatcher(model.encode)
    texts = [f"question {'x' * i}" for i in range(24)]
    results = _ask_together(batcher, texts)
    assert results == {t: [float(len(t))] for t in texts}, "every caller gets its own vector"
    assert len(model.calls) < len(texts) / 2, model.calls
    assert max(len(c) for c in model.calls) > 1
    assert not model.overlapped, "the model never runs two calls at once"
    assert sorted(t for call in model.calls for t in call) == sorted(texts), "each question encoded once"


def test_batches_are_capped() -> None:
    model = SlowModel()
    batcher = QueryBatcher(model.encode, max_batch=4)
    texts = [f"q{i:02d}" for i in range(16)]
    results = _ask_together(batcher, texts)
    assert len(results) == 16 and max(len(c) for c in model.calls) <= 4


def test_a_failed_call_reaches_its_callers_and_the_next_batch_still_runs() -> None:
    model = SlowModel(fail_on="bad")
    batcher = QueryBatcher(model.encode)
    results = _ask_together(batcher, ["bad", "ok1", "ok2"])
    failed = [t for t, r in results.items() if isinstance(r, RuntimeError)]
    assert "bad" in failed and len(results) == 3
    assert batcher.embed("fine") == [4.0], "the batcher is not stuck after a failure"


def test_batched_vectors_match_single_ones(embedder: Embedder) -> None:
    texts = ["what is dropout", "how does k-means choose centroids", "precision vs recall"]
    alone = [embedder.encode([t])[0] for t in texts]
    batcher = QueryBatcher(embedder.encode)
    together = _ask_together(batcher, texts)
    for text, single in zip(texts, alone, strict=True):
        assert np.allclose(together[text], single, atol=1e-5)


def test_repeated_questions_come_from_the_cache(embedder: Embedder) -> None:
    question = "why does batch norm behave differently at inference? (cache test)"
    before = embedder.texts_embedded
    first = embedder.embed_query(question)
    hits = embedder.cache_hits
    assert embedder.embed_query(question) == first
    assert embedder.cache_hits == hits + 1 and embedder.texts_embedded == before + 1


@pytest.mark.asyncio
async def test_concurrent_asks_off_the_event_loop_are_batched(embedder: Embedder) -> None:
    small = Embedder(embedder.model_name_or_path, cache_size=0)
    small._model = embedder._model  # share the loaded weights
    questions = [f"how do I tune hyperparameter number {i}?" for i in range(16)]
    vectors = await asyncio.gather(*(asyncio.to_thread(small.embed_query, q) for q in questions))
    assert len(vectors) == 16 and all(len(v) == 384 for v in vectors)
    assert small._batcher.batches < 16
