"""Retrieval quality on the labelled learner questions (tests/data/retrieval): hit@1, hit@5, MRR, nDCG@5.

Usage: python bench/retrieval_eval.py [--misses]
"""

from __future__ import annotations

import sys

from common import REPO, machine, temp_settings

from bot.app import build_services
from bot.study.banks import load_retrieval_questions
from bot.study.evaluation import evaluate_retrieval
from ingest.pipeline import ingest


def main() -> None:
    settings = temp_settings()
    services = build_services(settings)
    ingest([settings.knowledge_dir], settings, services.store, services.embedder)
    questions = load_retrieval_questions((REPO / "tests" / "data" / "retrieval").glob("*.yaml"))
    metrics = evaluate_retrieval(services.retriever.retrieve, questions, k=5)
    print(f"machine: {machine()}")
    print(f"dense (all-MiniLM-L6-v2, Chroma cosine, k=5): {metrics.row()}")
    if "--misses" in sys.argv:
        for question, label, got in metrics.misses:
            print(f"  miss: {question!r} -> {label}; got {got[:3]}")


if __name__ == "__main__":
    main()
