"""Retrieval over the ingested chunks (hybrid BM25 + dense), with a LangChain retriever adapter for the chain."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from bot.settings import RetrievalMode
from bot.study.embedding import Embedder
from bot.study.keyword import is_aid, keyword_tokens
from bot.study.vectorstore import StoredChunk, VectorStore


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: its text, where it comes from, and how relevant it is to the question.

    ``score`` is the cosine similarity of chunk and question, lowered in hybrid and keyword modes
    when most of the question's words never occur in the notes (see ``Retriever``).
    """

    id: str
    text: str
    source: str
    title: str
    section: str
    score: float

    @classmethod
    def from_chunk(cls, chunk: StoredChunk, score: float | None = None) -> Passage:
        m = chunk.metadata
        return cls(
            chunk.id,
            chunk.text,
            str(m.get("source", "")),
            str(m.get("title", "")),
            str(m.get("section", "")),
            chunk.score if score is None else score,
        )

    @property
    def label(self) -> str:
        """``Title > Section`` for showing a source to a person."""
        return f"{self.title} > {self.section}" if self.section else self.title

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "text": self.text,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class RetrievalConfig:
    """How passages are found and ranked. The defaults are the best measured (docs/benchmarks.md)."""

    mode: RetrievalMode = "hybrid"
    candidates: int = 10  # depth of each ranked list before fusion
    rrf_k: int = 60  # reciprocal rank fusion: score = sum of 1 / (rrf_k + rank)
    keyword_weight: float = 1.0  # weight of the BM25 list in the fusion (dense is 1.0)
    per_source: int = 1  # at most this many passages of one note in the top k (0: no limit)
    mmr_lambda: float = 0.0  # > 0: maximal marginal relevance instead of the per-note limit
    fuse_notes: bool = True  # rank notes by their fused score first, then their chunks (see _fuse)
    unknown_word_penalty: float = 0.25  # score lowered by this times the share of unknown words
    question_weight: float = 1.0  # weight of the list found through authored questions (0: not used)


class QuestionIndex(Protocol):
    """Authored questions that point at note sections (the answer cards): a third ranked list."""

    def sections_for(self, question: str, vector: Sequence[float], k: int) -> list[tuple[str, str, float]]:
        """(note path in knowledge/, section heading, similarity) of the best matching questions."""
        ...


@dataclass
class _Candidate:
    chunk: StoredChunk
    cosine: float | None
    fused: float = 0.0


class Retriever:
    """Finds the passages that answer a question: BM25 and dense search fused by reciprocal rank.

    Dense search (Chroma, cosine) finds paraphrases; BM25 finds the exact terms a learner types
    (``OOM``, ``SMOTE``, ``p99``). Reciprocal rank fusion combines the two rankings without having
    to calibrate their scores against each other, and a per-note limit keeps the top results from
    being five chunks of one note. Every passage keeps its cosine similarity as ``score``: the
    composer's "is anything relevant at all" test reads it.

    ``extra`` stores (a server's own material) are searched too and merged: dense results by
    cosine, keyword results by BM25 score, the material's scored with word statistics pooled over
    all the stores (``KeywordIndex.search_pooled``).
    """

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        k: int = 5,
        *,
        config: RetrievalConfig | None = None,
        extra: Sequence[VectorStore] = (),
        cpu: AbstractContextManager[object] | None = None,
        questions: QuestionIndex | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.k = k
        self.config = config or RetrievalConfig()
        self.extra = list(extra)
        self.cpu = cpu or nullcontext()
        self.questions = questions

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        k = k or self.k
        vector = self.embedder.embed_query(question)  # outside the CPU gate: it batches with others
        with self.cpu:
            return self._search(question, vector, k)

    def _search(self, question: str, vector: list[float], k: int) -> list[Passage]:
        cfg = self.config
        depth = max(cfg.candidates, k)
        tokens = keyword_tokens(question) if cfg.mode != "dense" else []
        stores = [self.store, *self.extra]  # an empty store adds nothing (its query returns [])
        dense: list[_Candidate] = []
        keyword: list[_Candidate] = []
        if cfg.mode != "keyword":
            for store in stores:
                # Twice as deep: aids resolved to a chunk listed already drop out below.
                dense += [_resolve(store, _Candidate(c, c.score), vector) for c in store.query(vector, 2 * depth)]
            dense.sort(key=lambda c: -(c.cosine or 0.0))
        if cfg.mode != "dense":
            # The study notes by their own statistics; a server's material with the words' rarity
            # counted over both, so that its scores compare with the notes' (KeywordIndex.search_pooled).
            pool = [s.keywords for s in stores]
            hits = [(self.store, h) for h in self.store.keywords.search(tokens, 2 * depth, vector)]
            for store in self.extra:
                hits += [(store, h) for h in store.keywords.search_pooled(tokens, 2 * depth, vector, pool)]
            hits.sort(key=lambda sh: -sh[1].bm25)
            keyword = [_resolve(store, _Candidate(h.chunk, h.cosine), vector) for store, h in hits]
        dense, keyword = _first_of_each(dense), _first_of_each(keyword)  # an aid resolved to a chunk listed already
        lists = [(dense[:depth], 1.0), (keyword[:depth], cfg.keyword_weight)]
        if self.questions is not None and cfg.question_weight > 0 and cfg.mode == "hybrid":
            lists.append((self._by_questions(question, vector, depth), cfg.question_weight))
        ranked = _fuse(lists, cfg.rrf_k, cfg.fuse_notes)
        ranked = [c for c in ranked if not is_aid(c.chunk)]  # an aid whose section is gone: never shown
        chosen = self._mmr(ranked, vector, k) if cfg.mmr_lambda > 0 else _limit_per_source(ranked, k, cfg.per_source)
        penalty = self._unknown_words_penalty(tokens, stores) if cfg.mode != "dense" else 0.0
        return [Passage.from_chunk(c.chunk, (c.cosine or 0.0) - penalty) for c in chosen]

    def _by_questions(self, question: str, vector: Sequence[float], depth: int) -> list[_Candidate]:
        """The sections that authored questions like this one point at, best first."""
        assert self.questions is not None
        out: list[_Candidate] = []
        query = np.asarray(vector, dtype=np.float32)
        for note, section, similarity in self.questions.sections_for(question, vector, depth):
            chunk = self.store.keywords.section(note, section)
            if chunk is None:
                continue
            # Ranked by the card's match, scored by the section's own similarity to the question: a
            # card's phrasing can be close to a question that the section does not answer.
            own = self.store.keywords.vectors_for([chunk.id])[0]
            out.append(_Candidate(chunk, float(own @ query) if own.size else similarity))
        return _first_of_each(out)

    def _unknown_words_penalty(self, question_tokens: Sequence[str], stores: Sequence[VectorStore]) -> float:
        """How far to lower every score when the question's words are mostly unknown to the notes.

        A question about marathons or sourdough can land near some note by meaning alone (a
        cosine of 0.3 to 0.4 is common), but the words that carry its subject never occur in the
        notes. Scaling by the share of unknown content words keeps such questions under the
        "relevant enough to answer" bar, while a learner's question that uses the notes'
        vocabulary, typos and slang aside, loses little or nothing.
        """
        # Numbers ("80gb", "p99", "2018") say nothing about the subject: they are left out.
        tokens = {t for t in question_tokens if not any(ch.isdigit() for ch in t)}
        if not tokens or self.config.unknown_word_penalty <= 0:
            return 0.0
        known: set[str] = set()
        for store in stores:
            known |= store.keywords.known(list(tokens))
        return self.config.unknown_word_penalty * (1 - len(known) / len(tokens))

    async def aretrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The same, off the event loop (the model, Chroma and BM25 all block)."""
        return await asyncio.to_thread(self.retrieve, question, k)

    def _mmr(self, ranked: list[_Candidate], vector: Sequence[float], k: int) -> list[_Candidate]:
        """Maximal marginal relevance over the fused list: relevance is the fused rank score."""
        if len(ranked) <= 1:
            return ranked[:k]
        ids = [c.chunk.id for c in ranked]
        vectors = self.store.keywords.vectors_for(ids)
        for store in self.extra:  # each id is in one store; the others give rows of zeros
            more = store.keywords.vectors_for(ids)
            if vectors.shape[1] == 0:
                vectors = more
            elif more.shape == vectors.shape:
                vectors = vectors + more
        top = ranked[0].fused or 1.0
        relevance = np.array([c.fused / top for c in ranked])
        lam = self.config.mmr_lambda
        chosen: list[int] = []
        left = list(range(len(ranked)))
        while left and len(chosen) < k:
            similarity = (vectors[left] @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(left))
            best = int(np.argmax(lam * relevance[left] - (1 - lam) * similarity))
            chosen.append(left.pop(best))
        return [ranked[i] for i in chosen]


def _first_of_each(ranked: list[_Candidate]) -> list[_Candidate]:
    """The list without repeats of a chunk, each at its best rank (keeping the higher cosine)."""
    seen: dict[str, _Candidate] = {}
    for cand in ranked:
        first = seen.setdefault(cand.chunk.id, cand)
        if first is not cand and (cand.cosine or 0.0) > (first.cosine or 0.0):
            first.cosine = cand.cosine
    return list(seen.values())


def _resolve(store: VectorStore, cand: _Candidate, vector: Sequence[float]) -> _Candidate:
    """A retrieval aid stands for the section it points at: the section's first chunk takes its
    place, with the better of the two cosines (the learner's words may match the aid more closely)."""
    if not is_aid(cand.chunk):
        return cand
    target = store.keywords.target_of(cand.chunk, vector)
    if target is None:
        return cand
    chunk, cosine = target
    best = max((c for c in (cand.cosine, cosine) if c is not None), default=None)
    return _Candidate(chunk, best)


def _fuse(lists: Sequence[tuple[Sequence[_Candidate], float]], rrf_k: int, by_note: bool) -> list[_Candidate]:
    """Reciprocal rank fusion of ranked lists (each with a weight), best first.

    With ``by_note`` the notes are ranked first, by their own fused score, where a note's rank in a
    list is the rank of its first chunk there; a note's chunks follow its rank, ordered by their
    own fused score (to which the note's is added, for MMR's relevance). Three methods that all put
    one note first but disagree on which of its chunks is best then still rank that note first,
    instead of splitting their votes between its chunks and losing to a note that is second in all
    three but whose one chunk they share (MRR 0.908 -> 0.946 on the labelled questions, top-1 note of
    the question's topic 0.811 -> 0.864 on 2,409 questions of the answer sets; docs/benchmarks.md).
    """
    merged: dict[str, _Candidate] = {}
    note_score: defaultdict[str, float] = defaultdict(float)
    for ranked, weight in lists:
        notes_seen: list[str] = []
        for rank, cand in enumerate(ranked, 1):
            entry = merged.setdefault(cand.chunk.id, _Candidate(cand.chunk, cand.cosine))
            if entry.cosine is None:
                entry.cosine = cand.cosine
            entry.fused += weight / (rrf_k + rank)
            note = _source(cand)
            if note not in notes_seen:
                notes_seen.append(note)
                note_score[note] += weight / (rrf_k + len(notes_seen))
    if not by_note:
        return sorted(merged.values(), key=lambda c: -c.fused)
    for entry in merged.values():
        entry.fused += note_score[_source(entry)]
    return sorted(merged.values(), key=lambda c: (-note_score[_source(c)], -c.fused))


def _source(cand: _Candidate) -> str:
    return str(cand.chunk.metadata.get("source", ""))


def _limit_per_source(ranked: Sequence[_Candidate], k: int, per_source: int) -> list[_Candidate]:
    """The top k, at most ``per_source`` from one note; others fill in if fewer than k notes match."""
    if per_source <= 0:
        return list(ranked[:k])
    taken: Counter[str] = Counter()
    chosen: list[_Candidate] = []
    spare: list[_Candidate] = []
    for cand in ranked:
        source = _source(cand)
        if taken[source] < per_source:
            taken[source] += 1
            chosen.append(cand)
            if len(chosen) == k:
                return chosen
        else:
            spare.append(cand)
    order = {id(c): i for i, c in enumerate(ranked)}
    return sorted(chosen + spare[: k - len(chosen)], key=lambda c: order[id(c)])


class LangChainRetriever(BaseRetriever):
    """Our retriever as a LangChain ``BaseRetriever``, so it composes in LCEL chains."""

    retriever: Retriever
    k: int = 5

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [
            Document(page_content=p.text, metadata={**p.to_dict(), "id": p.id})
            for p in self.retriever.retrieve(query, self.k)
        ]


def passage_from_document(doc: Document) -> Passage:
    m = doc.metadata
    return Passage(
        str(m.get("id", "")),
        doc.page_content,
        str(m.get("source", "")),
        str(m.get("title", "")),
        str(m.get("section", "")),
        float(m.get("score", 0.0)),
    )
