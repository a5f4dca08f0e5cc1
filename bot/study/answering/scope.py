"""Is a question from the field at all?

Everyday questions borrow the field's words: a phone battery is "calibrated", a dog is "trained", a
car "model" has "features", Netflix eats "data". Their words find notes and cards, and a passage can
pass the relevance floor on those words alone. So the composer also compares the question with a
bank of everyday questions (``knowledge/scope/``): when the nearest everyday questions are clearly
closer than the nearest card phrasings, the question is read as from outside the field, and only a
card that matches it with a wide margin answers it (see ``Composer.compose``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import numpy as np

from bot.study.answering.cards import CardIndex, CardVectors, mean_nearest
from bot.study.embedding import Embedder

# A question about a story (a film's ending, a novel's plot) is everyday whatever the title: "explain
# the ending of the movie inception" names a network module only by accident.
_MEDIUM = r"\b(?:movie|film|novel|tv show|tv series|sitcom|anime|episode)s?\b"
_PLOT = r"\b(?:ending|end of|plot|sequel|prequel|spoilers?|characters?|scene)\b"
_PEOPLE = r"\b(?:actors?|actress|cast|director)\b"
_STORY = re.compile(rf"{_MEDIUM}.*(?:{_PLOT}|{_PEOPLE})|{_PLOT}.*{_MEDIUM}", re.I)


class Scope:
    """Nearest-neighbour test of a question against the cards' phrasings and the everyday bank."""

    def __init__(
        self,
        cards: CardIndex,
        everyday: Sequence[str],
        embedder: Embedder,
        vectors: CardVectors | None = None,
        *,
        margin: float = 0.02,
        neighbours: int = 3,
    ) -> None:
        self.cards = cards
        self.everyday = list(everyday)
        self.embedder = embedder
        self.margin = margin  # the everyday questions must be this much closer (mean cosine) than the cards
        self.neighbours = neighbours
        self._vectors_source = vectors
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._lock = threading.Lock()
        self._ready = False

    def ensure_ready(self) -> None:
        with self._lock:
            if self._ready:
                return
            if self.everyday:
                if self._vectors_source is not None:
                    self._matrix, _ = self._vectors_source.vectors(self.everyday)
                else:
                    self._matrix = np.asarray(self.embedder.encode(self.everyday), dtype=np.float32)
            self._ready = True

    def lead(self, question: str, vector: Sequence[float] | None = None) -> float:
        """How much closer the nearest everyday questions are than the nearest card phrasings (mean
        cosine of each side's ``neighbours`` nearest); below zero when the cards are closer."""
        self.ensure_ready()
        if not len(self._matrix):
            return -1.0
        q = np.asarray(vector if vector is not None else self.embedder.embed_query(question), dtype=np.float32)
        return mean_nearest(self._matrix, q, self.neighbours) - self.cards.nearest(q, self.neighbours)

    def outside(self, question: str, vector: Sequence[float] | None = None) -> bool:
        """The question reads as everyday life rather than the field."""
        return bool(_STORY.search(question)) or self.lead(question, vector) >= self.margin
