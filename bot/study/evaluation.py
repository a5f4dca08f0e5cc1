"""Retrieval evaluation on labelled questions: hit@1, hit@5, MRR and nDCG@5.

A question is labelled with the note that should answer it; a retrieved passage counts as a hit
when its source is that note. Ranks are over passages, as a learner sees them, and the labelled
note's first passage is the single relevant item (so nDCG@5 = 1 / log2(rank + 1)).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.study.banks import RetrievalQuestion
from bot.study.retrieval import Passage

RetrieveFn = Callable[[str, int], Sequence[Passage]]


@dataclass
class RetrievalMetrics:
    n: int = 0
    hit1: float = 0.0
    hit5: float = 0.0
    mrr: float = 0.0
    ndcg5: float = 0.0
    seconds: float = 0.0
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)  # question, label, top sources

    def row(self) -> str:
        return f"hit@1={self.hit1:.3f} hit@5={self.hit5:.3f} MRR={self.mrr:.3f} nDCG@5={self.ndcg5:.3f} (n={self.n})"


def first_rank(passages: Sequence[Passage], note: str) -> int | None:
    """1-based rank of the first passage from ``note`` (a path relative to knowledge/), or None."""
    for i, p in enumerate(passages, 1):
        if p.source == note or p.source.endswith("/" + note):
            return i
    return None


def evaluate_retrieval(retrieve: RetrieveFn, questions: Sequence[RetrievalQuestion], k: int = 5) -> RetrievalMetrics:
    m = RetrievalMetrics(n=len(questions))
    started = time.perf_counter()
    for q in questions:
        passages = list(retrieve(q.question, k))[:k]
        rank = first_rank(passages, q.note)
        if rank == 1:
            m.hit1 += 1
        if rank is not None:
            m.hit5 += 1
            m.mrr += 1 / rank
            # One relevant item (the labelled note) at its first rank: nDCG = 1 / log2(rank + 1).
            m.ndcg5 += 1 / math.log2(rank + 1)
        else:
            m.misses.append((q.question, q.note, [p.source for p in passages]))
    m.seconds = time.perf_counter() - started
    if m.n:
        m.hit1, m.hit5, m.mrr, m.ndcg5 = (v / m.n for v in (m.hit1, m.hit5, m.mrr, m.ndcg5))
    return m
