"""BM25 keyword search (bm25s) over the chunks of one vector store, kept in step with it.

The index lives in memory and is rebuilt from the store itself, so it can never disagree with
what is stored: at once when this process changed the store (ingest, a server's material), and
otherwise when a cheap check of the stored chunk ids, made at most every ``refresh_s`` seconds,
finds that another process did. Each chunk's embedding is kept next to it, so a passage found
only by keywords still gets its cosine similarity to the question (the "is this relevant at all"
test the answer composer applies).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bot.study.text import STOPWORDS, words

if TYPE_CHECKING:
    import bm25s

    from bot.study.vectorstore import StoredChunk, VectorStore

log = logging.getLogger(__name__)


def best_positive(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The rows of the ``k`` highest positive scores, best first (equal scores by row).

    BM25 scores are zero for every row that shares no word with the question, nearly all of them:
    selecting among the positive ones only is about 40 times faster than ``bm25s.BM25.retrieve``,
    whose partial sort of 20,000 mostly equal values took 2.5 ms a call.
    """
    if k <= 0:
        return []
    rows = np.flatnonzero(scores > 0)
    if len(rows) > k:
        rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
    ranked = sorted(rows.tolist(), key=lambda row: (-scores[row], row))
    return [(row, float(scores[row])) for row in ranked]


class _Stemmer:
    """Snowball English stemming (PyStemmer), with a memo: the same words recur constantly."""

    def __init__(self) -> None:
        import Stemmer

        self._stemmer = Stemmer.Stemmer("english")
        self._memo: dict[str, str] = {}

    def __call__(self, word: str) -> str:
        stem = self._memo.get(word)
        if stem is None:
            stem = self._stemmer.stemWord(word)
            if len(self._memo) < 200_000:
                self._memo[word] = stem
        return stem


_stemmer: _Stemmer | None = None


# Chat spelling of stop words (no apostrophe) and filler that says nothing about the subject.
_CHAT_STOPWORD_TEXT = """
    whats thats theres heres hows whos dont doesnt didnt isnt arent wasnt werent cant couldnt
    wont wouldnt shouldnt havent hasnt im ive id youre youve ill lol pls plz ppl tho gonna wanna
    kinda basically just
"""
_CHAT_STOPWORDS = frozenset(_CHAT_STOPWORD_TEXT.split())


def _split_compounds(tokens: list[str]) -> list[str]:
    """Hyphenated words also count as their parts and as one word: fine-tune ~ finetune ~ fine tune."""
    out: list[str] = []
    for token in tokens:
        out.append(token)
        if "-" in token:
            parts = [p for p in token.split("-") if len(p) > 1]
            out.extend(parts)
            out.append("".join(token.split("-")))
    return out


def keyword_tokens(text: str) -> list[str]:
    """Lower-cased, stemmed words without stop words: what BM25 matches on."""
    global _stemmer
    if _stemmer is None:
        _stemmer = _Stemmer()
    tokens = _split_compounds([w for w in words(text) if w not in STOPWORDS and w not in _CHAT_STOPWORDS])
    return [_stemmer(w) for w in tokens if w not in STOPWORDS]


@dataclass(frozen=True)
class KeywordHit:
    chunk: StoredChunk
    bm25: float
    cosine: float | None  # None when the question vector was not given


class KeywordIndex:
    """BM25 over one store's chunks (title, section path and text)."""

    def __init__(self, store: VectorStore, *, refresh_s: float = 30.0, k1: float = 1.2, b: float = 0.75) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self.k1 = k1
        self.b = b
        self._lock = threading.Lock()
        self._bm25: bm25s.BM25 | None = None
        self._chunks: list[StoredChunk] = []
        self._row: dict[str, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._vocab: frozenset[str] = frozenset()
        self._df: Counter[str] = Counter()  # how many chunks hold each token
        self._tf: list[Counter[str]] = []  # each chunk's token counts, for scoring against pooled statistics
        self._lengths: list[int] = []  # each chunk's number of tokens
        self._note_rows: dict[str, list[int]] = {}
        self._sections: dict[tuple[str, str], int] = {}
        self._built_version = -1
        self._fingerprint = ""
        self._checked_at = 0.0
        self.builds = 0  # how many times the index was (re)built; tests and benchmarks read it

    # --- keeping in step with the store ------------------------------------------------------------

    def _stale(self) -> bool:
        if self._built_version != self.store.version:
            return True
        now = time.monotonic()
        if now - self._checked_at < self.refresh_s:
            return False
        self._checked_at = now
        return _fingerprint(self.store.all_ids()) != self._fingerprint

    def ensure_fresh(self) -> None:
        with self._lock:
            if self._stale():
                self._build()

    def _build(self) -> None:
        import bm25s

        # bm25s sets its own logger to DEBUG on import, which would print through our handlers.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        started = time.perf_counter()
        version = self.store.version
        chunks = self.store.get_all(with_embeddings=True)
        self._chunks = chunks
        self._row = {c.id: i for i, c in enumerate(chunks)}
        self._fingerprint = _fingerprint(c.id for c in chunks)
        self._built_version = version
        self._checked_at = time.monotonic()
        self.builds += 1
        note_rows: dict[str, list[int]] = {}
        sections: dict[tuple[str, str], int] = {}
        for row, c in enumerate(chunks):
            if not is_aid(c):
                source = str(c.metadata.get("source", ""))
                note_rows.setdefault(source, []).append(row)
                key = (_note_path(source), str(c.metadata.get("section", "")))
                first = sections.get(key)
                if first is None or _position(c) < _position(chunks[first]):
                    sections[key] = row
        self._note_rows = note_rows
        self._sections = sections
        if not chunks:
            self._bm25 = None
            self._vectors = np.zeros((0, 0), dtype=np.float32)
            self._vocab = frozenset()
            self._df, self._tf, self._lengths = Counter(), [], []
            return
        self._vectors = np.asarray([c.embedding for c in chunks], dtype=np.float32)
        corpus = [keyword_tokens(_indexed_text(c)) for c in chunks]
        self._vocab = frozenset(t for doc in corpus for t in doc)
        self._tf = [Counter(doc) for doc in corpus]
        self._df = Counter(t for counts in self._tf for t in counts)
        self._lengths = [len(doc) for doc in corpus]
        bm25 = bm25s.BM25(k1=self.k1, b=self.b)
        bm25.index(corpus, show_progress=False)
        self._bm25 = bm25
        log.debug("keyword index: %d chunks in %.0f ms", len(chunks), 1000 * (time.perf_counter() - started))

    # --- searching ---------------------------------------------------------------------------------

    def search(self, tokens: Sequence[str], k: int, vector: Sequence[float] | None = None) -> list[KeywordHit]:
        """The ``k`` best chunks by BM25 for a question's ``keyword_tokens``, best first.

        Chunks sharing no word with the question are left out.
        """
        self.ensure_fresh()
        with self._lock:
            bm25, chunks, vectors = self._bm25, self._chunks, self._vectors
            tokens = [t for t in tokens if t in self._vocab]
        if bm25 is None or not tokens or k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32) if vector is not None else None
        hits: list[KeywordHit] = []
        for row, score in best_positive(bm25.get_scores(tokens), k):
            cosine = float(vectors[row] @ query) if query is not None else None
            hits.append(KeywordHit(chunks[row], score, cosine))
        return hits

    def stats(self, tokens: Sequence[str]) -> tuple[int, dict[str, int]]:
        """How many chunks this index holds, and how many of them hold each of ``tokens``."""
        self.ensure_fresh()
        with self._lock:
            return len(self._tf), {t: self._df.get(t, 0) for t in tokens}

    def search_pooled(
        self, tokens: Sequence[str], k: int, vector: Sequence[float] | None, pool: Sequence[KeywordIndex]
    ) -> list[KeywordHit]:
        """Like ``search``, but with each word's rarity counted over every index in ``pool``.

        A server's own material is a store of a few chunks, where BM25's inverse document frequency
        is near zero for every word (in a one-chunk store every word is in every chunk): ranked by
        its own statistics, "zebra sampling" in the server's note would lose to any study note that
        says "sampling". Counted over the study notes and the material together, a word found only in
        the material is rare, as it should be, and the scores compare with the main index's. The
        scoring is Lucene's BM25, as bm25s computes it; a server's material is small, so plain
        Python is fast enough.
        """
        totals = [index.stats(tokens) for index in pool]
        n_docs = sum(n for n, _ in totals)
        idf = {}
        for t in tokens:
            df = sum(freqs[t] for _, freqs in totals)
            idf[t] = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        self.ensure_fresh()
        with self._lock:
            chunks, counts, lengths, vectors = self._chunks, self._tf, self._lengths, self._vectors
        if not counts or not tokens or k <= 0:
            return []
        average = sum(lengths) / len(lengths) or 1.0
        scored: list[tuple[float, int]] = []
        for row, (tf, length) in enumerate(zip(counts, lengths, strict=True)):
            norm = self.k1 * ((1 - self.b) + self.b * length / average)
            score = sum(idf[t] * tf[t] / (norm + tf[t]) for t in tokens if tf[t])
            if score > 0:
                scored.append((score, row))
        scored.sort(key=lambda sr: -sr[0])
        query = np.asarray(vector, dtype=np.float32) if vector is not None else None
        return [
            KeywordHit(chunks[row], score, float(vectors[row] @ query) if query is not None else None)
            for score, row in scored[:k]
        ]

    def known(self, tokens: Sequence[str]) -> set[str]:
        """The tokens (from ``keyword_tokens``) that occur somewhere in this store's chunks."""
        self.ensure_fresh()
        with self._lock:
            return {t for t in tokens if t in self._vocab}

    def target_of(self, aid: StoredChunk, vector: Sequence[float]) -> tuple[StoredChunk, float] | None:
        """The chunk of the aid's note that best matches the question ``vector``, and its cosine."""
        self.ensure_fresh()
        with self._lock:
            rows = self._note_rows.get(str(aid.metadata.get("source", "")))
            if not rows:
                return None
            cosines = self._vectors[rows] @ np.asarray(vector, dtype=np.float32)
            best = int(np.argmax(cosines))
            return self._chunks[rows[best]], float(cosines[best])

    def section(self, note: str, section: str) -> StoredChunk | None:
        """The first chunk of a note's section, by the note's path inside knowledge/ (``notes/x/y.md``)."""
        self.ensure_fresh()
        with self._lock:
            row = self._sections.get((_note_path(note), section))
            return self._chunks[row] if row is not None else None

    def vectors_for(self, ids: Sequence[str]) -> np.ndarray:
        """The stored embeddings of chunks by id (rows of zeros for ids not in the index)."""
        self.ensure_fresh()
        with self._lock:
            dim = self._vectors.shape[1] if self._vectors.size else 0
            out = np.zeros((len(ids), dim), dtype=np.float32)
            for i, cid in enumerate(ids):
                row = self._row.get(cid)
                if row is not None:
                    out[i] = self._vectors[row]
        return out


def is_aid(chunk: StoredChunk) -> bool:
    """A retrieval aid (learners' phrasings of a section): searched, never shown or quoted."""
    return bool(chunk.metadata.get("aid"))


def _note_path(source: str) -> str:
    """``knowledge/notes/math/probability.md`` -> ``notes/math/probability.md``; other sources as they are."""
    at = source.rfind("notes/")
    return source[at:] if at >= 0 else source


def _position(chunk: StoredChunk) -> int:
    value = chunk.metadata.get("position", 0)
    return int(value) if isinstance(value, int | float) else 0


def _indexed_text(chunk: StoredChunk) -> str:
    m = chunk.metadata
    return f"{m.get('title', '')}\n{m.get('section', '')}\n{chunk.text}"


def _fingerprint(ids: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for cid in sorted(ids):
        digest.update(cid.encode())
        digest.update(b"\x00")
    return digest.hexdigest()
