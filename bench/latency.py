"""Warm latency of retrieval and of extractive answers over at least 200 distinct questions, with
questions embedded by the ONNX export (the default) and by sentence-transformers (the reference).

The query cache is off, so every question pays for its embedding.
Usage: python bench/latency.py
"""

from __future__ import annotations

import time

from common import machine, study_questions, summary_ms, temp_settings

from bot.app import Services, build_services
from bot.study.embedding import Embedder
from ingest.pipeline import ingest


def measure(services: Services, questions: list[str]) -> tuple[list[float], list[float]]:
    for q in questions[:10]:  # warm-up
        services.answers.ask_sync(q)
    retrieve: list[float] = []
    for q in questions:
        started = time.perf_counter()
        services.retriever.retrieve(q)
        retrieve.append(time.perf_counter() - started)
    ask: list[float] = []
    for q in questions:
        started = time.perf_counter()
        services.answers.ask_sync(q)
        ask.append(time.perf_counter() - started)
    return retrieve, ask


def main() -> None:
    settings = temp_settings()
    services = build_services(settings)
    ingest([settings.knowledge_dir], settings, services.store, services.embedder)
    assert services.embedder.ensure_export() in ("current", "made")
    questions = study_questions()
    assert len(questions) >= 200, f"only {len(questions)} questions"
    print(f"machine: {machine()}")
    print(f"chunks in store: {services.store.count()}, {len(questions)} questions")
    model = settings.resolved_embedding_model()
    for label, root in (("onnx", settings.resolved_cache_dir() / "onnx"), ("sentence-transformers", None)):
        uncached = Embedder(model, cache_size=0, export_root=root)
        assert uncached.backend == label
        services.embedder = services.retriever.embedder = services.cards.embedder = uncached
        retrieve, ask = measure(services, questions)
        print(f"[{label}] retrieve (k={settings.retrieval_k}): {summary_ms(retrieve)}  (target p95 <= 30 ms)")
        print(f"[{label}] extractive ask: {summary_ms(ask)}  (target p95 <= 60 ms)")


if __name__ == "__main__":
    main()
