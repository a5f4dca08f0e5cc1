"""Answer cards matched to a question: question-to-question search over each card's question and
the other ways people ask it.

Candidates come from two searches over every phrasing: BM25 on stemmed words and dense cosine
similarity (MiniLM, the same model as retrieval). Each candidate card is then scored by how well
its best phrasing matches the question: the cosine and an idf-weighted word overlap, minus a
penalty when the card answers a different kind of question (a "why" asked, a definition found).
That score is the card's confidence; the composer uses a card only above a tuned threshold.

The phrasing vectors are cached in a file (``CardVectors``), so each is computed once per machine:
the phrasings that are new since the last time are embedded, the ones no card uses any more dropped.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from bot.study.answering.questions import comparison_sides, question_kind, subject_words
from bot.study.answering.spelling import SpellingIndex
from bot.study.banks import Card, CardKind
from bot.study.embedding import Embedder
from bot.study.keyword import best_positive, keyword_tokens
from bot.study.text import words

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchWeights:
    """How a question-to-phrasing match is scored (see bench/answer_eval.py for how these were chosen)."""

    cosine: float = 0.7
    overlap: float = 0.3
    kind_penalty: float = 0.06  # the card answers another kind of question than the one asked
    # Times the (idf-weighted) share of the question's subject words that the card never uses, in
    # its question, phrasings or answer: "how do I choose k for k-means" must not take the kNN card.
    subject_penalty: float = 0.15
    # A comparison ("PCA vs ICA") matched to a card that never names one of its two sides: the card
    # speaks of one thing only and cannot state the difference.
    one_sided_penalty: float = 0.1
    candidates: int = 30  # depth of each search before scoring


@dataclass(frozen=True)
class CardMatch:
    card: Card
    score: float  # the confidence: weighted cosine and overlap of the best phrasing, less penalties
    cosine: float
    overlap: float
    phrasing: str


# Kinds that answer each other's questions well enough (a "when to use" card answers "should I ...").
_COMPATIBLE = {
    frozenset({CardKind.how_to, CardKind.symptom}),
    frozenset({CardKind.definition, CardKind.example}),
    frozenset({CardKind.when_to_use, CardKind.comparison}),
    frozenset({CardKind.why, CardKind.definition}),
}


# Stemmed words that ask the same thing of a card: "downsides of k-means" (or "the catch") is "k-means
# limitations".
_SAME = {w: "limit" for w in ("downsid", "disadvantag", "drawback", "weak", "shortcom", "con", "catch", "gotcha")}


def _same_words(tokens: list[str]) -> list[str]:
    return [_SAME.get(t, t) for t in tokens]


def _adjacent(text: str) -> set[tuple[str, str]]:
    """Pairs of stemmed content words written side by side ("mixed precision" -> ("mix", "precis"))."""
    sequence: list[str | None] = []
    for word in words(text):
        tokens = keyword_tokens(word)
        sequence.extend(tokens or [None])
    return {(a, b) for a, b in pairwise(sequence) if a and b and a != b}


def kinds_agree(asked: CardKind | None, card: CardKind) -> bool:
    return asked is None or asked is card or frozenset({asked, card}) in _COMPATIBLE


def mean_nearest(matrix: np.ndarray, vector: Sequence[float] | np.ndarray, k: int) -> float:
    """The mean cosine of a (unit) vector's ``k`` nearest rows of ``matrix``."""
    cosines = matrix @ np.asarray(vector, dtype=np.float32)
    k = min(k, len(cosines))
    return float(np.mean(np.partition(cosines, -k)[-k:]))


class CardVectors:
    """Phrasing embeddings cached in one ``.npz`` file per model, keyed by each text's hash.

    The file lives in the cache folder (``Settings.resolved_cache_dir()``), so every process on a
    machine (the CLI, the bot, tests) embeds a phrasing once; a missing or corrupt file is rebuilt.
    """

    def __init__(self, folder: Path, embedder: Embedder, name: str = "card-vectors") -> None:
        self.embedder = embedder
        model = hashlib.sha256(embedder.model_name_or_path.encode()).hexdigest()[:12]
        self.path = folder / f"{name}-{model}.npz"

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _load(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError) as exc:
            log.warning("rebuilding the card vector cache %s (%s)", self.path, exc)
            return {}

    def _save(self, vectors: dict[str, np.ndarray]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp.npz")
            keys = np.array(list(vectors), dtype="<U32")
            np.savez(tmp, keys=keys, vectors=np.asarray(list(vectors.values()), dtype=np.float32))
            os.replace(tmp, self.path)  # atomic: a reader sees the old file or the new one
        except OSError as exc:  # a read-only home: the vectors are still used, just not kept
            log.warning("cannot write the card vector cache %s (%s)", self.path, exc)

    def vectors(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """A row per text (unit length), and how many had to be embedded now."""
        keys = [self._key(t) for t in texts]
        cached = self._load()
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cached}.items())
        if missing:
            fresh = self.embedder.encode([t for _, t in missing])
            cached.update((k, np.asarray(v, dtype=np.float32)) for (k, _), v in zip(missing, fresh, strict=True))
        wanted = set(keys)
        if missing or len(cached) != len(wanted):
            self._save({k: v for k, v in cached.items() if k in wanted})
        rows = np.asarray([cached[k] for k in keys], dtype=np.float32)
        return rows, len(missing)


class CardIndex:
    """Finds the answer cards whose question means the same as a learner's question."""

    def __init__(
        self,
        cards: Sequence[Card],
        embedder: Embedder,
        vectors: CardVectors | None = None,
        *,
        weights: MatchWeights | None = None,
    ) -> None:
        self.cards = list(cards)
        self.by_id = {c.id: c for c in self.cards}
        self.embedder = embedder
        self.weights = weights or MatchWeights()
        self._vectors_source = vectors
        self._lock = threading.Lock()
        self._ready = False
        self._texts: list[str] = []
        self._owner: list[int] = []  # phrasing row -> card index
        self._tokens: list[set[str]] = []
        self._card_words: list[set[str]] = []  # every word a card uses: question, phrasings, answer
        self._card_pairs: list[set[tuple[str, str]]] = []  # ...and every two words it uses side by side
        self._compounds: set[tuple[str, str]] = set()  # compound terms: word pairs cards use side by side
        self._vocabulary: set[str] = set()  # every word any card uses
        self._spelling: SpellingIndex | None = None
        self._idf: dict[str, float] = {}
        self._top_idf = 1.0
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._bm25: object | None = None
        # Retrieval and the composer both match the same question: the last results are kept.
        self._recent: OrderedDict[tuple[str, MatchWeights], list[CardMatch]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.cards)

    def ensure_ready(self) -> int:
        """Build the index on first use; returns how many phrasings had to be embedded."""
        with self._lock:
            if self._ready:
                return 0
            embedded = self._build()
            self._ready = True
            return embedded

    def _build(self) -> int:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        texts: list[str] = []
        owner: list[int] = []
        for i, card in enumerate(self.cards):
            for text in dict.fromkeys([card.question, *card.asked_as]):
                texts.append(text)
                owner.append(i)
        self._texts, self._owner = texts, owner
        token_lists = [_same_words(keyword_tokens(t)) for t in texts]
        self._tokens = [set(ts) for ts in token_lists]
        df = Counter(t for ts in self._tokens for t in ts)
        n = max(len(texts), 1)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._top_idf = max(self._idf.values(), default=1.0)  # the weight of a word no card uses
        self._card_words = [set(keyword_tokens(" ".join([c.question, *c.asked_as, c.answer]))) for c in self.cards]
        self._card_pairs = [_adjacent(" \n ".join([c.question, *c.asked_as, c.answer])) for c in self.cards]
        # A compound term is a pair that several cards write side by side, and that makes up at least
        # half the uses of its rarer word ("mixed precision"); "ml project" is two words that each
        # appear in many other places.
        pair_cards = Counter(pair for pairs in self._card_pairs for pair in pairs)
        word_cards = Counter(word for used in self._card_words for word in used)
        self._compounds = {
            (a, b)
            for (a, b), n in pair_cards.items()
            if n >= 2 and n >= 0.5 * min(word_cards.get(a, n), word_cards.get(b, n))
        }
        self._vocabulary = set().union(*self._card_words)
        embedded = 0
        if not texts:
            return 0
        if self._vectors_source is not None:
            self._matrix, embedded = self._vectors_source.vectors(texts)
        else:
            self._matrix = np.asarray(self.embedder.encode(texts), dtype=np.float32)
            embedded = len(texts)
        bm25 = bm25s.BM25()
        bm25.index([ts or ["_"] for ts in token_lists], show_progress=False)
        self._bm25 = bm25
        if embedded:
            log.info("answer cards: embedded %d new phrasings", embedded)
        return embedded

    def _overlap(self, q_tokens: set[str], row: int) -> float:
        """idf-weighted F1 of the question's and the phrasing's words."""
        p_tokens = self._tokens[row]
        shared = q_tokens & p_tokens
        if not shared:
            return 0.0
        weight = self._idf.get
        default = self._top_idf
        inter = sum(weight(t, default) for t in shared)
        recall = inter / sum(weight(t, default) for t in q_tokens)
        precision = inter / sum(weight(t, default) for t in p_tokens)
        return 2 * precision * recall / (precision + recall)

    def _subject_units(self, question: str) -> list[tuple[tuple[str, ...], float]]:
        """The question's subject as weighted units: a compound term that cards use ("mixed precision",
        "decision tree") is one unit, which a card must use whole; each other subject word is a unit."""
        subject = set(keyword_tokens(" ".join(subject_words(question))))
        top = self._top_idf
        units: list[tuple[tuple[str, ...], float]] = []
        taken: set[str] = set()
        for a, b in sorted(_adjacent(question)):
            if a in subject and b in subject and (a, b) in self._compounds:
                units.append(((a, b), self._idf.get(a, top) + self._idf.get(b, top)))
                taken |= {a, b}
        units += [((t,), self._idf.get(t, top)) for t in sorted(subject - taken)]
        return units

    def _unused_share(self, units: list[tuple[tuple[str, ...], float]], card: int) -> float:
        """The idf-weighted share of the question's subject that a card never uses (a compound counts
        as used only when the card has its words side by side: "average precision" is not "mixed
        precision")."""
        total = sum(w for _, w in units)
        unused = sum(
            w
            for unit, w in units
            if (unit not in self._card_pairs[card] if len(unit) == 2 else unit[0] not in self._card_words[card])
        )
        return unused / total if total else 0.0

    def clear_cache(self) -> None:
        """Forget the recent matches (benchmarks measure questions matched afresh)."""
        with self._lock:
            self._recent.clear()

    def match(self, question: str, vector: Sequence[float] | None = None, k: int = 5) -> list[CardMatch]:
        """The ``k`` best cards for a question, best first, each with its confidence."""
        self.ensure_ready()
        if not self._texts:
            return []
        key = (question, self.weights)  # every match is kept whole: retrieval and the composer ask for different k
        with self._lock:
            found = self._recent.get(key)
            if found is not None:
                self._recent.move_to_end(key)
                return found[:k]
        found = self._match(question, vector)
        with self._lock:
            self._recent[key] = found
            if len(self._recent) > 256:
                self._recent.popitem(last=False)
        return found[:k]

    def _match(self, question: str, vector: Sequence[float] | None) -> list[CardMatch]:
        """Every candidate card for a question, best first."""
        w = self.weights
        q_vec = np.asarray(vector if vector is not None else self.embedder.embed_query(question), dtype=np.float32)
        cosines = self._matrix @ q_vec
        q_list = _same_words(keyword_tokens(question))
        q_tokens = set(q_list)
        nearest = min(w.candidates, len(cosines))
        rows = set(np.argpartition(-cosines, nearest - 1)[:nearest].tolist()) if nearest else set()
        if q_list and self._bm25 is not None:
            import bm25s

            assert isinstance(self._bm25, bm25s.BM25)
            known = [t for t in q_list if t in self._idf]
            if known:
                rows |= {row for row, _ in best_positive(self._bm25.get_scores(known), w.candidates)}
        asked = question_kind(question)
        units = self._subject_units(question)
        sides = [set(keyword_tokens(" ".join(side))) for side in comparison_sides(question)]
        sides = [side for side in sides if side] if len(sides) == 2 and all(sides) else []
        best: dict[int, CardMatch] = {}
        for row in rows:
            card = self.cards[self._owner[row]]
            cosine = float(cosines[row])
            overlap = self._overlap(q_tokens, row) if q_tokens else 0.0
            score = w.cosine * cosine + w.overlap * overlap
            if not kinds_agree(asked, card.kind):
                score -= w.kind_penalty
            elif asked is CardKind.definition and card.kind is not CardKind.definition:
                score -= w.kind_penalty / 2  # "what is X" is best answered by X's definition card
            if units:
                score -= w.subject_penalty * self._unused_share(units, self._owner[row])
            if sides and any(not side & self._card_words[self._owner[row]] for side in sides):
                score -= w.one_sided_penalty
            current = best.get(self._owner[row])
            if current is None or score > current.score:
                best[self._owner[row]] = CardMatch(card, score, cosine, overlap, self._texts[row])
        return sorted(best.values(), key=lambda m: -m.score)

    def nearest(self, vector: Sequence[float] | np.ndarray, k: int = 1) -> float:
        """The mean cosine of a question vector's ``k`` nearest card phrasings (how close the cards come)."""
        self.ensure_ready()
        if not self._texts:
            return 0.0
        return mean_nearest(self._matrix, vector, k)

    def unknown_subject_words(self, question: str) -> set[str]:
        """The question's subject words (stemmed) that no card uses at all: typos, or a subject the
        cards do not cover (a server's own material, say)."""
        self.ensure_ready()
        words = set(keyword_tokens(" ".join(subject_words(question))))
        return {w for w in words if w not in self._vocabulary and not any(ch.isdigit() for ch in w)}

    def rare_words(self, text: str, floor: float) -> set[str]:
        """The words of ``text`` (stemmed) whose weight over the cards' phrasings is at least ``floor``:
        names of things ("ddp", "reparameterization"), not the words every question uses ("find",
        "layer")."""
        self.ensure_ready()
        return {w for w in keyword_tokens(text) if self._idf.get(w, self._top_idf) >= floor}

    def looks_misspelt(self, word: str) -> bool:
        """A word no card uses that is close to one they do ("informaton"): a typo, not a new subject."""
        self.ensure_ready()
        if len(word) < 5:
            return False
        with self._lock:
            if self._spelling is None:
                self._spelling = SpellingIndex(self._vocabulary, cutoff=0.8)
            spelling = self._spelling
        return spelling.has_close(word)

    def sections_for(self, question: str, vector: Sequence[float], k: int) -> list[tuple[str, str, float]]:
        """For retrieval: the note sections that the best matching cards cite, best first (a card's
        phrasings are learners' questions that this section answers)."""
        out: dict[tuple[str, str], float] = {}
        for m in self.match(question, vector, k=k):
            key = (m.card.source.note, m.card.source.section)
            out.setdefault(key, m.cosine)
        return [(note, section, score) for (note, section), score in out.items()]

    def related(self, card: Card, limit: int = 3) -> list[Card]:
        """The cards a card names as related (those that exist), at most ``limit``."""
        return [self.by_id[i] for i in card.related if i in self.by_id][:limit]
