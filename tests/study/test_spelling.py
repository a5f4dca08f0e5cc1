"""The fast misspelling check keeps difflib's rule exactly, and BM25's top rows are the positive ones."""

from __future__ import annotations

import difflib
import random

import numpy as np

from bot.study.answering.spelling import SpellingIndex
from bot.study.keyword import best_positive

VOCABULARY = [
    "regular", "regularis", "gradient", "descent", "partit", "normal", "batch", "dropout",
    "precis", "recal", "overfit", "embed", "transform", "attent", "facebook", "spurious",
]  # fmt: skip


def _difflib(word: str, vocabulary: list[str], cutoff: float) -> bool:
    return bool(difflib.get_close_matches(word, vocabulary, n=1, cutoff=cutoff))


def test_the_fast_check_agrees_with_difflib_on_typos_and_new_words() -> None:
    rng = random.Random(7)
    probes = ["gradeint", "dropuot", "transfrom", "zebra", "macbook", "furious", "qqqqq", "précis", "attention"]
    for word in VOCABULARY:  # every word with one letter changed, dropped or doubled
        i = rng.randrange(len(word))
        probes += [word[:i] + "x" + word[i + 1 :], word[:i] + word[i + 1 :], word[:i] + word[i] + word[i:]]
    for cutoff in (0.8, 0.6):
        index = SpellingIndex(VOCABULARY, cutoff=cutoff)
        for word in probes:
            assert index.has_close(word) == _difflib(word, sorted(VOCABULARY), cutoff), (word, cutoff)
    index = SpellingIndex(VOCABULARY)
    assert index.has_close("gradeint") and not index.has_close("zebra")
    assert index.has_close("gradeint")  # a second ask (answered from the memo) gives the same result


def test_an_empty_vocabulary_knows_no_word() -> None:
    assert not SpellingIndex([]).has_close("gradient")


def test_best_positive_ranks_positive_scores_only() -> None:
    scores = np.array([0.0, 2.5, 0.0, 4.0, 2.5, 0.1, 0.0], dtype=np.float32)
    assert best_positive(scores, 3) == [(3, 4.0), (1, 2.5), (4, 2.5)]  # equal scores by row
    assert [row for row, _ in best_positive(scores, 10)] == [3, 1, 4, 5]  # zeros never come back
    assert best_positive(scores, 0) == [] and best_positive(np.zeros(5, dtype=np.float32), 3) == []
