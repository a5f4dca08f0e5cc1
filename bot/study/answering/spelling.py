"""Is a word a misspelling of a known one? difflib's similarity ratio, made fast enough to run inside
every answer.

``difflib.get_close_matches`` compares a word with every known word in Python: about 50 ms over the
cards' 12,000 words, which alone put a typed question over the answer's latency budget. The same rule
is kept (a known word whose ``SequenceMatcher`` ratio with the word is at least ``cutoff``), but the
cheap upper bound difflib checks first (``quick_ratio``: the letters the two words share, counted
with repeats) is computed for all known words at once with numpy, and only the few words that pass it
are compared exactly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from difflib import SequenceMatcher

import numpy as np


class SpellingIndex:
    """Known words, and whether a new word is within ``cutoff`` of one of them."""

    def __init__(self, vocabulary: Iterable[str], cutoff: float = 0.8) -> None:
        self.cutoff = cutoff
        self._words = sorted(set(vocabulary))
        letters = sorted({ch for w in self._words for ch in w})
        self._column = {ch: i for i, ch in enumerate(letters)}
        counts = np.zeros((len(self._words), len(letters)), dtype=np.int16)
        for row, word in enumerate(self._words):
            for ch in word:
                counts[row, self._column[ch]] += 1
        self._counts = counts
        self._lengths = np.array([len(w) for w in self._words], dtype=np.float64)
        self._memo: dict[str, bool] = {}
        self._lock = threading.Lock()

    def _letters(self, word: str) -> np.ndarray:
        counts = np.zeros(self._counts.shape[1], dtype=np.int16)
        for ch in word:
            column = self._column.get(ch)
            if column is not None:  # a letter no known word has matches nothing
                counts[column] += 1
        return counts

    def has_close(self, word: str) -> bool:
        """Whether some known word is at least ``cutoff`` similar to ``word`` (difflib's ratio)."""
        with self._lock:
            known = self._memo.get(word)
        if known is not None:
            return known
        shared = np.minimum(self._counts, self._letters(word)).sum(axis=1)
        bound = 2.0 * shared / (self._lengths + len(word))  # difflib's quick_ratio, for every word
        found = False
        for row in np.flatnonzero(bound >= self.cutoff):
            if SequenceMatcher(None, self._words[row], word).ratio() >= self.cutoff:
                found = True
                break
        with self._lock:
            if len(self._memo) < 50_000:
                self._memo[word] = found
        return found
