"""Warm latency of retrieval and of extractive answers over at least 200 distinct questions, with
questions embedded by the ONNX export (the default) and by sentence-transformers (the reference).

The query cache is emptied before each timed pass, so every question pays for its embedding once, as
a new question does in use: one ask embeds its question for retrieval, card matching and the scope
check, and the cache (on by default) serves the second and third. ``--no-cache`` turns the cache off
altogether, so an ask pays for its question three times (the figure measured before 2026-12-07).
Usage: python bench/latency.py [--no-cache]
"""

from __future__ import annotations

import argparse
import time

from common import machine, study_questions, summary_ms, temp_settings

from bot.app import Services, build_services
from bot.study.embedding import Embedder
from ingest.pipeline import ingest


def measure(services: Services, questions: list[str]) -> tuple[list[float], list[float]]:
    for q in questions[:10]:  # warm-up
        services.answers.ask_sync(q)
    services.embedder.clear_cache()
    services.cards.clear_cache()
    retrieve: list[float] = []
    for q in questions:
        started = time.perf_counter()
        services.retriever.retrieve(q)
        retrieve.append(time.perf_counter() - started)
    services.embedder.clear_cache()
    services.cards.clear_cache()  # the retrieve pass matched these questions already
    ask: list[float] = []
    for q in questions:
        started = time.perf_counter()
        services.answers.ask_sync(q)
        ask.append(time.perf_counter() - started)
    return retrieve, ask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-cache", action="store_true", help="no query cache at all (three embeddings an ask)")
    args = parser.parse_args()
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
        embedder = Embedder(model, cache_size=0 if args.no_cache else 1024, export_root=root)
        assert embedder.backend == label
        services.embedder = services.retriever.embedder = services.cards.embedder = embedder
        services.scope.embedder = embedder
        retrieve, ask = measure(services, questions)
        print(f"[{label}] retrieve (k={settings.retrieval_k}): {summary_ms(retrieve)}  (target p95 <= 30 ms)")
        print(f"[{label}] extractive ask: {summary_ms(ask)}  (target p95 <= 40 ms)")


if __name__ == "__main__":
    main()
