"""Retrieval quality on the labelled learner questions (tests/data/retrieval), every variant in one run.

Reports hit@1, hit@5, MRR and nDCG@5 for BM25 only, dense only, hybrid (reciprocal rank fusion)
and the further variants tried, each on the same ingested store and the same questions.

With --cross-validate it also checks whether tuning the fusion's knobs (BM25 weight, rrf_k, list
depth) on these questions would generalize: the best grid point on one half of the questions is
compared with the default on the other half, both ways round.

Usage: python bench/retrieval_eval.py [--misses VARIANT] [--data DIR] [--cross-validate]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from common import REPO, machine, temp_settings

from bot.app import Services, build_services
from bot.study.banks import RetrievalQuestion, load_retrieval_questions
from bot.study.evaluation import RetrievalMetrics, evaluate_retrieval
from bot.study.retrieval import RetrievalConfig, Retriever
from ingest.pipeline import ingest

DEFAULT = RetrievalConfig()
VARIANTS: dict[str, RetrievalConfig] = {
    "keyword (BM25 only)": replace(DEFAULT, mode="keyword", per_source=0),
    "dense only": replace(DEFAULT, mode="dense", per_source=0),
    "dense, 2 per note": replace(DEFAULT, mode="dense", per_source=2),
    "hybrid, chunk-level RRF only (no note ranking)": replace(DEFAULT, fuse_notes=False),
    "hybrid, chunk RRF, no per-note limit": replace(DEFAULT, fuse_notes=False, per_source=0),
    "hybrid, no per-note limit": replace(DEFAULT, per_source=0),
    "hybrid, 1 per note": replace(DEFAULT, per_source=1),
    "hybrid, 2 per note": replace(DEFAULT, per_source=2),
    "hybrid, MMR 0.7 (no per-note limit)": replace(DEFAULT, mmr_lambda=0.7),
    "hybrid, MMR 0.5 (no per-note limit)": replace(DEFAULT, mmr_lambda=0.5),
    "hybrid, BM25 weight 0.5": replace(DEFAULT, keyword_weight=0.5),
    "hybrid, BM25 weight 1.5": replace(DEFAULT, keyword_weight=1.5),
    "hybrid, rrf_k 20": replace(DEFAULT, rrf_k=20),
    "hybrid, 20 candidates per list": replace(DEFAULT, candidates=20),
    "hybrid, 30 candidates per list": replace(DEFAULT, candidates=30),
    "hybrid, 50 candidates per list": replace(DEFAULT, candidates=50),
    "hybrid without the cards' questions": replace(DEFAULT, question_weight=0.0),
    "hybrid, cards' questions weight 0.5": replace(DEFAULT, question_weight=0.5),
    "hybrid, cards' questions weight 2": replace(DEFAULT, question_weight=2.0),
}


GRID = [
    replace(DEFAULT, keyword_weight=w, rrf_k=k, candidates=c)
    for w in (0.8, 1.0, 1.2, 1.5)
    for k in (5, 10, 30, 60)
    for c in (5, 8, 10, 20)
]


def cross_validate(services: Services, questions: list[RetrievalQuestion]) -> None:
    """Tune on one half, measure on the other: does a tuned grid point beat the default held out?"""

    def measure(config: RetrievalConfig, subset: list[RetrievalQuestion]) -> RetrievalMetrics:
        retriever = Retriever(services.store, services.embedder, k=5, config=config, questions=services.cards)
        return evaluate_retrieval(retriever.retrieve, subset, k=5)

    halves = [questions[0::2], questions[1::2]]
    print(f"cross-validation over {len(GRID)} grid points (BM25 weight x rrf_k x candidates), by MRR then nDCG@5")
    for fold, (tune, held_out) in enumerate([(halves[0], halves[1]), (halves[1], halves[0])], 1):
        scored = [(measure(config, tune), config) for config in GRID]
        best_metrics, best = max(scored, key=lambda pair: (pair[0].mrr, pair[0].ndcg5))
        knobs = f"weight {best.keyword_weight}, rrf_k {best.rrf_k}, {best.candidates} candidates"
        print(f"fold {fold}: tuned ({knobs}) on its half  {best_metrics.row()}")
        print(f"        tuned, held-out half            {measure(best, held_out).row()}")
        print(f"        default, held-out half          {measure(DEFAULT, held_out).row()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--misses", default="", help="print the misses of the variant whose name starts with this")
    parser.add_argument("--data", type=Path, help="reuse this data directory (ingested once, unchanged after)")
    parser.add_argument("--cross-validate", action="store_true", help="check that tuning the fusion generalizes")
    args = parser.parse_args()
    settings = temp_settings(**({"data_dir": args.data} if args.data else {}))
    services = build_services(settings)
    ingest([settings.knowledge_dir], settings, services.store, services.embedder)
    services.cards.ensure_ready()
    questions = load_retrieval_questions((REPO / "tests" / "data" / "retrieval").glob("*.yaml"))
    started = time.perf_counter()
    services.store.keywords.ensure_fresh()
    built = time.perf_counter() - started
    for q in questions:  # warm the query-embedding cache: every variant then pays the same
        services.embedder.embed_query(q.question)
    print(f"machine: {machine()}")
    chunks = services.store.count()
    print(f"{len(questions)} labelled questions, {chunks} chunks, k=5; BM25 index built in {built:.2f} s")
    print(f"default: {DEFAULT}")
    print("ms/question: retrieval with the question's embedding already cached")
    for name, config in VARIANTS.items():
        retriever = Retriever(services.store, services.embedder, k=5, config=config, questions=services.cards)
        metrics = evaluate_retrieval(retriever.retrieve, questions, k=5)
        mark = " (default)" if config == DEFAULT else ""
        print(f"{name + mark:<40} {metrics.row()} {1000 * metrics.seconds / metrics.n:.1f} ms/question")
        if args.misses and name.startswith(args.misses):
            for question, label, got in metrics.misses:
                print(f"    miss: {question!r} -> {label}; got {got[:3]}")
    if args.cross_validate:
        cross_validate(services, questions)


if __name__ == "__main__":
    main()
