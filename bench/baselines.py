"""Baselines for bench/answer_eval.py, kept out of the product.

``LegacyExtractiveComposer`` is the offline composer studybot shipped until 2026-12-03 (sentences
picked across the retrieved passages by word overlap), so new answers are always compared with it
in the same run; ``first_sentences`` is the naive baseline (the top passage's first sentences).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.study.answering.composer import relevant
from bot.study.answering.model import Answer, Citation, dont_know
from bot.study.retrieval import Passage
from bot.study.text import passage_sentences, terms


def first_sentences(question: str, passages: Sequence[Passage], min_relevance: float, n: int = 3) -> Answer:
    """The naive baseline: the first ``n`` sentences of the top retrieved passage."""
    useful = relevant(passages, min_relevance)
    if not useful:
        return dont_know(question, [])
    text = " ".join(passage_sentences(useful[0].text)[:n])
    return Answer(question, f"{text} [1]", [Citation(1, useful[0])], composer="naive")


_DEFINITION_Q = re.compile(r"^\s*(what\s+(is|are|'s|does)|what's|whats|define|meaning of|explain)\b", re.I)
_DEFINITION_S = re.compile(r"\b(is|are|means|refers to|measures|describes)\b", re.I)
# A path to a note (the guide points to them): the sentence is about where to read, not the subject.
_NOTE_PATH = re.compile(r"`[\w./-]+\.md`")
# Sentences about the note rather than the subject ("This note covers...") answer nothing.
_META_S = re.compile(
    r"^(this (note|section|page)|in this (note|section)|interviewers (ask|often|like|probe|expect|want))\b", re.I
)
# Sections written to be found (symptoms, slang) or to warn, not to explain.
_SIDE_SECTION = re.compile(r"how learners describe|interview pitfalls|common mistakes|red flags", re.I)
_MISTAKE_Q = re.compile(r"\b(mistake|pitfall|wrong|trap|gotcha|misconception|avoid|error)s?\b", re.I)


@dataclass
class _Candidate:
    rank: int
    index: int
    text: str
    score: float
    terms: list[str] = field(default_factory=list)  # the sentence's content terms, in order


class LegacyExtractiveComposer:
    """Builds a short answer out of whole sentences of the retrieved passages.

    Scoring is lexical (shared content terms, weighted by rarity among the candidates) plus the
    passage's retrieval score and a small bonus for a passage's lead sentence and for definitions
    when the question asks for one. It needs no model call, so an answer costs about a millisecond
    on top of retrieval.
    """

    def __init__(self, min_relevance: float, max_chars: int = 900, max_sentences: int = 4) -> None:
        self.min_relevance = min_relevance
        self.max_chars = max_chars
        self.max_sentences = max_sentences

    def compose(self, question: str, passages: Sequence[Passage]) -> Answer:
        useful = relevant(passages, self.min_relevance)
        if not useful:
            return dont_know(question, passages[:3])
        chosen = self._choose(question, useful)
        numbers: dict[int, int] = {}
        parts: list[str] = []
        for cand in chosen:
            n = numbers.setdefault(cand.rank, len(numbers) + 1)
            parts.append(f"{cand.text} [{n}]")
        citations = [Citation(n, useful[rank]) for rank, n in numbers.items()]
        return Answer(question, " ".join(parts), citations, composer="legacy")

    def _choose(self, question: str, passages: Sequence[Passage]) -> list[_Candidate]:
        q_terms = set(terms(question))
        cands: list[_Candidate] = []
        for rank, p in enumerate(passages):
            for i, sentence in enumerate(passage_sentences(p.text)):
                if len(sentence.split()) < 4 or len(sentence) > 600 or _is_meta(sentence):
                    continue
                cands.append(_Candidate(rank, i, sentence, 0.0, terms(sentence)))
        if not cands:
            return []
        sentence_terms = [set(c.terms) for c in cands]
        df = Counter(t for ts in sentence_terms for t in ts)
        n = len(cands)
        top = max(p.score for p in passages)
        definition = bool(_DEFINITION_Q.match(question))
        wants_mistakes = bool(_MISTAKE_Q.search(question))
        headings = [set(terms(f"{p.section} {p.title}")) for p in passages]  # once per passage
        side_sections = [bool(_SIDE_SECTION.search(p.section)) for p in passages]
        for cand, ts in zip(cands, sentence_terms, strict=True):
            p = passages[cand.rank]
            heading_terms = headings[cand.rank]
            shared = q_terms & ts
            lexical = sum(math.log(1 + n / df[t]) for t in shared) / (1 + math.log(1 + len(q_terms)))
            context = 0.3 * len(q_terms & heading_terms) / (1 + len(q_terms))
            cand.score = lexical + context + 2.0 * (p.score - top) + (0.25 if cand.index == 0 else 0.0)
            if definition and shared and cand.index < 3 and _DEFINITION_S.search(cand.text):
                cand.score += 0.35
            if not shared:
                cand.score -= 0.6  # a sentence that shares nothing with the question rarely answers it
            if side_sections[cand.rank] and not wants_mistakes:
                cand.score -= 0.5
        ranked = sorted(cands, key=lambda c: c.score, reverse=True)
        picked: list[_Candidate] = []
        length = 0
        best = ranked[0].score
        for cand in ranked:
            if len(picked) == self.max_sentences:
                break
            if picked and cand.score < best - 1.2:
                break
            if length + len(cand.text) > self.max_chars and picked:
                continue
            if any(_near_same(cand.terms, other.terms) for other in picked):
                continue
            picked.append(cand)
            length += len(cand.text) + 5
        return sorted(picked, key=lambda c: (c.rank, c.index))


def _is_meta(sentence: str) -> bool:
    """About the notes rather than the subject: "This note covers...", "`notes/x.md` is where..."."""
    return bool(_META_S.match(sentence) or _NOTE_PATH.search(sentence))


def _near_same(la: list[str], lb: list[str]) -> bool:
    """Whether two sentences (their content terms, in order) say the same: nearly the same words, or
    the same subject opening both and most of the shorter one's words in the other (a note's intro and its
    definition section often define the subject twice, in different words)."""
    ta, tb = set(la), set(lb)
    if not ta or not tb:
        return False
    shared = len(ta & tb)
    if shared / len(ta | tb) > 0.8:
        return True
    return len(la) > 2 and la[:2] == lb[:2] and shared / min(len(ta), len(tb)) >= 0.6
