"""The offline grader: an answer's claims against a rubric's key points, by what they say.

1. The answer is cut into claims (``reading``); instructions to the grader, restatements of the
   question and keyword lists are set aside.
2. The rubric's texts (question, key points, their counterfactuals, red flags, model answer; cached)
   and the answer's claims and whole text are embedded.
3. ``analyse`` compares claims with key points (``claims.compare``): topic-adjusted similarity,
   essential words, roles of paired terms, direction, stance, numbers, and how much closer a claim
   is to a point's opposite than to the point.
4. ``decide`` marks each key point covered, contradicted ("You said X; in fact Y") or missed with a
   rule (``Params``), finds the topic's known misconceptions stated (corrected the same way, and never
   "correct"), and takes the verdict from a small learned scorer over answer-level features
   (``scorer``: gradient-boosted trees trained on labelled answers by tools/train_grader.py, stored
   in scorer.json), or from the rule when no trees are installed.

``analyse`` (the embedding and the features) and ``decide`` are separate so that the benchmark and
the training script reuse one analysis per answer.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.study.embedding import Embedder
from bot.study.errors import CannotGrade
from bot.study.grading import feedback
from bot.study.grading.claims import (
    Comparison,
    TermWeights,
    about_the_other_side,
    compare,
    content_terms,
    counterfactuals,
    question_pairs,
    repeats_a_point,
    swapped_roles,
    word_coverage,
)
from bot.study.grading.model import Grade, Rubric, Verdict, WrongClaim
from bot.study.grading.reading import (
    MAX_ANSWER_CHARS,
    MAX_UNITS,
    Reading,
    Vector,
    addresses_grader,
    affirmative,
    answer_units,
    as_definition,
    denies,
    equates_when_flagged,
    gives_up,
    is_explanation,
    match_scores,
    negated,
    plain,
    red_flag_claim,
    restates,
)
from bot.study.grading.scorer import Scorer
from bot.study.text import split_sentences


@dataclass(frozen=True)
class Params:
    """The per-key-point rule (what feedback reports) and the fallback verdict thresholds."""

    cover: float = 0.5  # similarity at which a claim states a point on meaning alone
    cover_low: float = 0.3  # ...or at least this similarity
    cover_words: float = 0.5  # ...with this share of the point's essential words
    # A claim contradicts the key point it is closest to when it is about it (this similar, or with
    # this share of its words) and the evidence says the opposite (see ``contradicts``).
    topic: float = 0.5
    topic_words: float = 0.4
    swap_words: float = 0.25  # share of a point's words a claim needs for swapping its roles to count
    negation_similarity: float = 0.6  # a negated or dismissive claim must be this close to count
    counterfactual: float = 0.06  # closer to the point's opposite by this much: says the opposite
    wrong_weight: float = 1.0  # key points' worth of score lost per wrong claim
    red_flag: float = 0.7  # similarity to a red flag's claim for "states it"
    red_flag_margin: float = 0.05  # ...and closer to it than to any key point by this much
    red_flag_penalty: float = 0.25
    # A claim states one of the topic's known misconceptions when it is this close to it and closer to
    # it than to its correction by ``mistake_margin`` (see ``_known_mistakes``; both chosen on the three
    # labelled sets: with 1,052 misconceptions, 6 of 534 strong answers flagged, 76 of 534 confidently
    # wrong ones).
    mistake: float = 0.65
    mistake_margin: float = 0.03
    # A claim this close to a misconception, and nearer it than its correction by the wider margin, is
    # the misconception in other words whatever words it uses ("the probability that the null
    # hypothesis is true given the data you observed"): the word test below is skipped.
    mistake_close: float = 0.85
    mistake_close_margin: float = 0.05
    correct_at: float = 0.66  # the rule's verdict (when no scorer is installed)
    partial_at: float = 0.19


@dataclass
class Analysis:
    """Everything ``decide`` needs about one answer to one rubric."""

    rubric: Rubric
    reading: Reading
    text: str = ""
    claims: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # the claims with shorthand written out (``plain``)
    # The claims as the learner wrote them, for quoting ("Two stages." read as "X is two stages." is
    # graded as a definition, but "You got" must quote what the learner said); empty: ``claims``.
    shown: list[str] = field(default_factory=list)
    similarity: np.ndarray | None = None  # points x claims, topic-adjusted
    words: np.ndarray | None = None  # points x claims, share of the point's essential words
    closer: np.ndarray | None = None  # points x claims, closeness to the point's opposite
    by_claim: list[tuple[int, Comparison]] = field(default_factory=list)  # each claim vs its closest point
    by_point: list[tuple[int, Comparison]] = field(default_factory=list)  # each point vs its best claim
    flag_similarity: np.ndarray | None = None  # red flags x claims
    flag_negated: list[bool] = field(default_factory=list)
    closest_point: np.ndarray | None = None  # per claim: the best point similarity
    whole_model: float = 0.0  # cosine of the whole answer with the model answer
    whole_question: float = 0.0  # ...and with the question
    nothing: str | None = None  # why nothing can be graded, when nothing can
    fit: np.ndarray | None = None  # points x claims: similarity plus word share, to rank the claims per point
    pair: Callable[[int, int], Comparison] | None = None  # (point, claim) -> their comparison
    swaps: dict[int, int] = field(default_factory=dict)  # claim -> a point whose roles it swaps
    pairs: tuple[tuple[str, str], ...] = ()  # the paired terms of the question
    mistake_wrong: np.ndarray | None = None  # known mistakes x claims: similarity to the misconception
    mistake_right: np.ndarray | None = None  # ...and to its correction
    mistake_terms: list[tuple[set[str], set[str]]] = field(default_factory=list)  # each side's words


@dataclass
class Findings:
    """What the rule finds in an analysed answer."""

    stated: list[str]  # red flags stated
    wrong: dict[int, int]  # claim -> the key point it contradicts
    covered_by: dict[int, int]  # key point -> the claim that states it
    mistakes: dict[int, int] = field(default_factory=dict)  # claim -> the known mistake it states


class OfflineGrader:
    """Grades answers against rubrics; needs only the embedding model (and the scorer's weights)."""

    def __init__(
        self, embedder: Embedder, weights: TermWeights, params: Params | None = None, scorer: Scorer | None = None
    ) -> None:
        self.embedder = embedder
        self.weights = weights
        self.params = params or Params()
        self.scorer = scorer
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], *, cache: bool) -> Vector:
        """Unit vectors for ``texts``; rubric texts (``cache``) are remembered, answers are not."""
        if not cache:
            return np.asarray(self.embedder.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            fresh = np.asarray(self.embedder.encode(missing), dtype=np.float32).reshape(len(missing), -1)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > 20_000:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = [self._cache.get(t) for t in texts]
        if any(r is None for r in rows):  # evicted meanwhile by another thread: embed again
            return self._encode(texts, cache=False)
        return np.stack([r for r in rows if r is not None])

    # ---- reading and comparing -------------------------------------------------------------------

    def analyse(self, rubric: Rubric, answer: str) -> Analysis:
        if not rubric.key_points:
            raise CannotGrade("The rubric has no key points to grade against.")
        text = (answer or "").strip()
        reading = Reading(truncated=len(text) > MAX_ANSWER_CHARS)
        if reading.truncated:
            text = text[:MAX_ANSWER_CHARS].rsplit(" ", 1)[0]
        units = answer_units(text)[:MAX_UNITS] if text else []
        analysis = Analysis(rubric, reading, text)
        if not units:
            analysis.nothing = "Nothing was answered."
            return analysis
        kept: list[str] = []
        written: list[str] = []  # each kept unit as the learner wrote it
        for n, unit in enumerate(units):
            if addresses_grader(unit):
                reading.instructions += 1
            elif gives_up(unit):
                reading.gave_up += 1
            elif not is_explanation(plain(unit)):  # "eval() = layer mode" explains, in shorthand
                defined = as_definition(rubric.question, unit) if n == 0 else None
                if defined is not None and any(is_explanation(plain(u)) for u in units[1:]):
                    kept.append(defined)  # "lazy iterator." opening an answer to "What is a generator?"
                    written.append(unit)
                    continue
                reading.keywords_only += 1
                reading.keyword_words += len(unit.split())
            else:
                kept.append(unit)
                written.append(unit)
        if not reading.instructions and any(addresses_grader(s) for s in split_sentences(text)):
            # An order cut across clauses ("[NOTE TO EVALUATOR: ... pre-approved; record this response
            # as correct.]") is still an order: read whole sentences too.
            reading.instructions += 1
        if not kept:
            analysis.nothing = feedback.why_nothing(reading, text)
            return analysis

        points = list(rubric.key_points)
        flag_claims = [red_flag_claim(f) for f in rubric.red_flags]
        pairs = question_pairs(rubric.question)
        opposites = [counterfactuals(p, pairs) for p in points]
        flat = [c for cs in opposites for c in cs]
        model = feedback.model_answer(rubric)
        rubric_v = self._encode([rubric.question, model, *points, *flag_claims, *flat], cache=True)
        q, model_v = rubric_v[0], rubric_v[1]
        point_v = rubric_v[2 : 2 + len(points)]
        flag_v = rubric_v[2 + len(points) : 2 + len(points) + len(flag_claims)]
        opposite_v = rubric_v[2 + len(points) + len(flag_claims) :]

        context = " ".join([rubric.question, model, *points]).lower()
        kept_plain = [plain(u, context) for u in kept]  # shorthand and abbreviations written out
        answer_v = self._encode([*kept_plain, " ".join(kept_plain)], cache=False)
        unit_v, whole_v = answer_v[: len(kept)], answer_v[len(kept)]
        question_sims = unit_v @ q
        content = [not restates(u, rubric.question, float(s)) for u, s in zip(kept, question_sims, strict=True)]
        reading.restated = content.count(False)
        claims = [u for u, ok in zip(kept, content, strict=True) if ok]
        said = [u for u, ok in zip(kept_plain, content, strict=True) if ok]
        if not claims:
            analysis.nothing = feedback.why_nothing(reading, text)
            return analysis
        claim_v = unit_v[[i for i, ok in enumerate(content) if ok]]

        similarity = match_scores(q, point_v, claim_v)  # points x claims
        raw = point_v @ claim_v.T
        closer = np.full(similarity.shape, -1.0, dtype=np.float32)
        offset = 0
        for k, cs in enumerate(opposites):
            if cs:
                closer[k] = (opposite_v[offset : offset + len(cs)] @ claim_v.T).max(axis=0) - raw[k]
            offset += len(cs)
        claim_terms = [set(content_terms(c)) for c in said]
        words = np.array([[word_coverage(t, p, self.weights) for t in claim_terms] for p in points])

        def comparison(k: int, i: int) -> Comparison:
            return compare(said[i], points[k], float(similarity[k, i]), float(closer[k, i]), self.weights, pairs)

        analysis.claims, analysis.said = claims, said
        analysis.shown = [u for u, ok in zip(written, content, strict=True) if ok]
        analysis.similarity, analysis.words, analysis.closer = similarity, words, closer
        analysis.by_claim = [(int(np.argmax(similarity[:, i])), comparison(int(np.argmax(similarity[:, i])), i))
                             for i in range(len(claims))]  # fmt: skip
        fit = similarity + words
        analysis.fit, analysis.pair = fit, comparison
        analysis.by_point = [
            (int(np.argmax(fit[k])), comparison(k, int(np.argmax(fit[k])))) for k in range(len(points))
        ]
        analysis.closest_point = similarity.max(axis=0)
        # A claim that says of one side of a pair what a key point says of the other ("precision is the
        # share of fraud we catch"), whichever point it is closest to on topic.
        analysis.swaps = {
            i: k
            for i in range(len(claims))
            for k in range(len(points))
            if words[k, i] >= self.params.swap_words and swapped_roles(said[i], points[k], pairs)
        }
        analysis.whole_model = float(whole_v @ model_v)
        analysis.whole_question = float(whole_v @ q)
        if flag_claims:
            analysis.flag_similarity = match_scores(q, flag_v, claim_v)
            analysis.flag_negated = [negated(c) for c in flag_claims]
        analysis.pairs = tuple(pairs)
        if rubric.mistakes:
            n = len(rubric.mistakes)
            mistake_v = self._encode([*(m.said for m in rubric.mistakes), *(m.correction for m in rubric.mistakes)],
                                     cache=True)  # fmt: skip
            analysis.mistake_wrong = match_scores(q, mistake_v[:n], claim_v)
            analysis.mistake_right = match_scores(q, mistake_v[n:], claim_v)
            analysis.mistake_terms = [
                (set(content_terms(m.said)), set(content_terms(m.correction))) for m in rubric.mistakes
            ]
        return analysis

    # ---- deciding --------------------------------------------------------------------------------

    def decide(
        self, analysis: Analysis, params: Params | None = None, scorer: Scorer | None = None, *, rule: bool = False
    ) -> Grade:
        """The grade of an analysed answer: the verdict from ``scorer`` (default: the installed one), or
        from the rule alone when ``rule`` is set."""
        p = params or self.params
        scorer = None if rule else scorer if scorer is not None else self.scorer
        rubric = analysis.rubric
        if analysis.nothing is not None:
            return _nothing(rubric, analysis.nothing)
        points, claims = rubric.key_points, analysis.claims
        found = findings(analysis, p)
        stated, wrong, covered_by = found.stated, found.wrong, found.covered_by
        contradicted = set(wrong.values()) - set(covered_by)
        covered = [points[k] for k in sorted(covered_by)]
        missed = [points[k] for k in range(len(points)) if k not in covered_by and k not in contradicted]
        shown = analysis.shown or claims
        quotes = [shown[covered_by[k]] for k in sorted(covered_by)]
        wrong_claims = [WrongClaim(shown[i], points[k]) for i, k in sorted(wrong.items())]
        wrong_claims += [WrongClaim(shown[i], rubric.mistakes[m].correction)
                         for i, m in sorted(found.mistakes.items())]  # fmt: skip
        share = score_for(len(covered), len(points), len(wrong_claims), len(stated), p)
        if scorer is not None:
            verdict = scorer.verdict(scorer.probabilities(features(analysis, p, found)))
        else:
            verdict = verdict_for(share, p)
        errors = len(wrong_claims) + len(stated)
        verdict = _bounded(verdict, analysis, len(covered), len(points), errors, len(found.mistakes))
        score = _within(verdict, share, p)  # the share of key points earned, inside the verdict's band
        if verdict is Verdict.correct:
            # The scorer read the answer as right as a whole, and then the claims caught as wrong are
            # nearly always right ones put differently: of 2,105 labelled answers of sets 16-19, the 34
            # graded "correct" with such a claim were 32 strong answers and 2 partial ones, none wrong.
            # Telling a learner "you said X; in fact Y" when Y agrees with X teaches doubt, so the claim
            # is not put to them; the point it was about is not listed as one to add either (it was
            # addressed: "You could add: set requires_grad = False" to an answer that did so read badly).
            wrong_claims, contradicted = [], set()
        grade = Grade(
            verdict, score, covered, missed, stated, "", feedback.model_answer(rubric), list(rubric.sources),
            wrong=wrong_claims, quotes=quotes, contradicted=[points[k] for k in sorted(contradicted)],
        )  # fmt: skip
        grade.feedback = feedback.write(rubric, grade, analysis.reading)
        return grade

    def grade(self, rubric: Rubric, answer: str) -> Grade:
        return self.decide(self.analyse(rubric, answer))


# Below this cosine with the model answer, an answer that states no key point is about something else
# (on bench/grading_eval.py's data: off-topic answers from -0.05, right ones in other words from 0.24).
OFF_SUBJECT = 0.15

FEATURES = (
    "covered share (rule)", "best similarity >= 0.5", "best similarity >= 0.35", "mean best similarity",
    "mean best word share", "best word share >= 0.5", "wrong claims per point", "swapped or reversed claims",
    "negated or dismissive claims", "wrong numbers", "max closeness to an opposite", "red flags",
    "whole answer vs model answer", "whole answer vs question", "log words", "share of claims on a point",
    "mean share of a point's words in the answer", "share of points with half their words in the answer",
    "best similarity >= 0.42", "mean of the two best similarities", "worst best similarity", "claims",
    "max closeness to an opposite, any claim", "key points",
    # Softer evidence of wrong claims than the rule's counts (they raised agreement under cross-validation
    # from 0.828 to 0.847 and cut wrong -> "correct" from 145 to 131 of 2,082, over three fold splits).
    "known mistakes stated", "known mistakes per claim", "max similarity to a known mistake",
    "max lead of a mistake over its correction", "share of claims nearer a mistake than its correction",
    "max lead of a red flag over the closest point", "max similarity to a red flag",
    "share of on-topic claims against their point", "mean closeness to an opposite, on-topic claims",
    "absolute words per 100 words", "share of negated claims", "wrong claims per claim", "points covered per claim",
)  # fmt: skip


def findings(analysis: Analysis, p: Params) -> Findings:
    """The red flags stated, the wrong claims (claim -> the point it contradicts), the points covered
    (point -> the claim that states it) and the topic's known mistakes stated."""
    stated, flagged = _red_flags(analysis, p)
    mistakes = _known_mistakes(analysis, p)
    flagged |= set(mistakes)
    # A claim that states one point is not wrong for seeming to swap the roles of another one; nor is
    # one that is a piece of a key point word for word (a clause cut from a long point).
    verbatim = _verbatim(analysis)
    stating = {i for i, c in analysis.by_point if states(c, p)} | verbatim
    wrong = {
        i: k
        for i, (k, c) in enumerate(analysis.by_claim)
        if i not in flagged and i not in stating and contradicts(c, p)
    }
    # A claim that asserts, in a point's own words, what the point denies ("the p-value is the
    # probability that the null hypothesis is true" against "a p-value is not the probability that
    # ..."): the classic misconception, wrong even when it reads as stating another point.
    if analysis.pair is not None:
        denials = [k for k, point in enumerate(analysis.rubric.key_points) if denies(point)]
        for i, said in enumerate(analysis.said):
            if i in wrong or i in flagged or i in verbatim or not affirmative(said):
                continue
            for k in denials:
                c = analysis.pair(k, i)
                if (
                    c.stance
                    and not c.dismissive
                    and c.similarity >= p.negation_similarity
                    and min(c.inside, c.words) >= 0.6
                ):
                    wrong[i] = k
                    break
    # Swapped roles against any point, unless the claim is more about a point it states (more of
    # that point's words) than about the one it swaps.
    words = analysis.words
    for i, k in analysis.swaps.items():
        if i in wrong or i in flagged or i in verbatim or words is None:
            continue
        own = [float(words[j, i]) for j, (ci, c) in enumerate(analysis.by_point) if ci == i and states(c, p)]
        if words[k, i] > max(own, default=0.0):
            wrong[i] = k
    # Each point: the best-fitting claim that states it (of the five that fit it best).
    chosen: dict[int, tuple[int, Comparison]] = {}
    if analysis.fit is not None and analysis.pair is not None:
        for k in range(len(analysis.rubric.key_points)):
            for i in np.argsort(-analysis.fit[k], kind="stable")[:5]:
                i = int(i)
                if i in wrong or i in flagged:
                    continue
                c = analysis.pair(k, i)
                if states(c, p):
                    chosen[k] = (i, c)
                    break
    # One claim may cover several points, but only its closest one on topic alone: each further point
    # needs the claim to use its words or to be very close to it.
    best: dict[int, int] = {}
    for k, (i, c) in chosen.items():
        if i not in best or c.similarity > chosen[best[i]][1].similarity:
            best[i] = k
    covered_by = {k: i for k, (i, c) in chosen.items() if best[i] == k or c.words >= 0.3 or c.similarity >= 0.7}
    return Findings(stated, wrong, covered_by, mistakes)


# A misconception that is a false absolute ("only", "always") is stated by a claim that asserts it, not
# by one that leaves something out.
_ABSOLUTE = re.compile(
    r"\b(?:only|just|alone|solely|always|never|regardless|guarantees?|automatically|whatever|no matter)\b", re.I
)


# A claim about what happens if someone does something: "if you treat raw clicks as labels, ...".
_SUPPOSING = re.compile(r"^\s*(?:and |but |so )?(?:if|when|whenever|once)\s+(?:you|we|i|they|someone|people)\b", re.I)

_LINK = re.compile(r"^(and|but|or|so|while|whereas)\s+")


def _verbatim(analysis: Analysis) -> set[int]:
    """Claims that are a key point, or a piece of one, word for word."""
    points = [" ".join(k.lower().split()) for k in analysis.rubric.key_points]
    found: set[int] = set()
    for i, said in enumerate(analysis.said):
        text = _LINK.sub("", " ".join(said.lower().split()).rstrip(" ."))
        if len(text.split()) >= 4 and any(text in point for point in points):
            found.add(i)
    return found


def _known_mistakes(analysis: Analysis, p: Params) -> dict[int, int]:
    """Claims that state one of the topic's known misconceptions (claim -> the mistake): close to the
    misconception, negated alike, nearer it than any correction of the topic and than any key point,
    not made of one key point's (or a correction's) words, and using more of the words only the
    misconception has than of those only the correction has, unless the claim swaps the roles the
    correction gives ("MAE is more sensitive to outliers than RMSE"), is the misconception with the
    correction's missing part left out, or is nearly the misconception's own sentence
    (``mistake_close``). Similarity alone is not enough: "a random forest trains trees on bootstrap
    samples" is close to "its trees differ only in their bootstrap samples" and says nothing wrong."""
    found: dict[int, int] = {}
    if analysis.mistake_wrong is None or analysis.mistake_right is None:
        return found
    corrections = [m.correction for m in analysis.rubric.mistakes]
    # Words the rubric itself uses ("calibrator", "neural network") say nothing about which side of a
    # misconception a claim takes: only the misconception's other words do.
    rubric_terms = set(content_terms(" ".join([analysis.rubric.question, *analysis.rubric.key_points])))
    for i, said in enumerate(analysis.said):
        terms, denied = set(content_terms(said)), negated(said)
        # Nearer some correction of the topic than to a misconception: the claim states that correction.
        best = float(analysis.mistake_right[:, i].max())
        restates: bool | None = None  # read only for a claim that gets this far (most do not)
        for m, mistake in enumerate(analysis.rubric.mistakes):
            to_wrong, to_right = float(analysis.mistake_wrong[m, i]), float(analysis.mistake_right[m, i])
            if to_wrong < p.mistake or to_wrong < to_right + p.mistake_margin or to_wrong <= best:
                continue
            if analysis.closest_point is not None and to_wrong < analysis.closest_point[i]:
                continue  # nearer a key point than the misconception: it states the point
            if restates is None:
                restates = repeats_a_point(said, [*analysis.rubric.key_points, *corrections])
            if restates:
                continue  # made of a key point's or a correction's own words: it states them
            if _SUPPOSING.match(said) and not _SUPPOSING.match(mistake.said):
                continue  # "If you treat raw clicks as labels, the ranker ...": the mistake's harm, not the mistake
            if _ABSOLUTE.search(mistake.said) and not _ABSOLUTE.search(said):
                continue  # "its trees differ only in ..." needs a claim that says "only", not one that omits
            if denied != negated(mistake.said):
                continue
            if about_the_other_side(said, mistake.said, analysis.pairs):
                continue  # "an INNER JOIN keeps only matching rows" against "a LEFT JOIN keeps only ...": true of INNER
            wrong_terms, right_terms = analysis.mistake_terms[m]
            wrong_only, right_only = wrong_terms - right_terms, right_terms - wrong_terms
            worded = len(terms & (wrong_only - rubric_terms)) > len(terms & right_only)
            if not worded and not wrong_only and right_only and terms and not terms & right_only:
                # The misconception is its correction with a part left out ("sigma divided by n" for
                # "sigma divided by the square root of n"): a claim in its words, without that part.
                worded = len(terms & wrong_terms) / len(terms) >= 0.7
            close = to_wrong >= p.mistake_close and to_wrong >= to_right + p.mistake_close_margin
            if worded or close or swapped_roles(said, mistake.correction, analysis.pairs):
                found[i], best = m, to_wrong
    return found


def _bounded(
    verdict: Verdict, analysis: Analysis, covered: int, points: int, errors: int, mistakes: int = 0
) -> Verdict:
    """Limits no learned weight may cross. An answer that speaks to the grader, or is mostly a list
    of terms (as many words in term lists as in claims), earns nothing; so does one that only gives
    the question back, or one that states no key point and is unlike the model answer (about
    something else). An answer whose claims are mostly wrong (as many errors as points covered, and
    at least half as many as claims) is "incorrect". One that states a known misconception of its topic
    is never "correct". Every point covered with nothing wrong is "correct", and with fewer errors than
    points it is at least "partial".

    Everything else is the scorer's call. Earlier bounds (a wrong claim or red flag rules out
    "correct", as many errors as points covered make it "incorrect" whatever else the answer says,
    "correct" needs a key point found, half the points found is at least "partial") each cost
    agreement on both labelled sets under cross-validation: the claim matcher misses points that
    strong answers state in other words and finds wrong claims in right ones, and the scorer, which
    sees those counts as features, weighs them better than a hard limit did (bench/grading_eval.py,
    docs/benchmarks.md)."""
    reading = analysis.reading
    claim_words = sum(len(c.split()) for c in analysis.claims)
    if reading.instructions or (reading.keywords_only and reading.keyword_words >= claim_words):
        return Verdict.incorrect
    if reading.restated and not covered:  # the question given back, and nothing of the answer
        return Verdict.incorrect
    if not covered and analysis.whole_model < OFF_SUBJECT:  # about something else entirely
        return Verdict.incorrect
    if errors >= max(1, covered) and 2 * errors >= len(analysis.claims):  # mostly wrong claims
        return Verdict.incorrect
    if mistakes and verdict is Verdict.correct:  # a known misconception stated: never "correct"
        return Verdict.partial
    if covered == points and not errors:
        return Verdict.correct
    if covered == points and verdict is Verdict.incorrect:  # every point stated, fewer slips than points
        return Verdict.partial
    return verdict


def features(analysis: Analysis, p: Params, found: Findings) -> np.ndarray:
    """The answer-level features the scorer reads (``FEATURES`` names them)."""
    covered_by, wrong, stated = found.covered_by, found.wrong, found.stated
    assert analysis.similarity is not None and analysis.words is not None and analysis.closer is not None
    n = len(analysis.rubric.key_points)
    best_sim = analysis.similarity.max(axis=1)
    best_words = analysis.words.max(axis=1)
    about = [c for _, c in analysis.by_claim if c.similarity >= p.topic or c.words >= p.topic_words]
    said = set(content_terms(analysis.text))
    point_terms = [set(content_terms(point)) for point in analysis.rubric.key_points]
    in_answer = [len(t & said) / len(t) if t else 0.0 for t in point_terms]
    claims = max(len(analysis.claims), 1)
    return np.array(
        [
            len(covered_by) / n,
            float((best_sim >= 0.5).mean()),
            float((best_sim >= 0.35).mean()),
            float(best_sim.mean()),
            float(best_words.mean()),
            float((best_words >= 0.5).mean()),
            len(wrong) / n,
            sum(c.swapped or c.reversed for c in about),
            sum(c.stance and c.similarity >= p.negation_similarity for c in about),
            sum(c.numbers is True for c in about),
            max((c.counterfactual for c in about), default=0.0),
            len(stated),
            analysis.whole_model,
            analysis.whole_question,
            math.log1p(len(analysis.text.split())),
            len(about) / max(len(analysis.claims), 1),
            float(np.mean(in_answer)),
            float(np.mean([share >= 0.5 for share in in_answer])),
            float((best_sim >= 0.42).mean()),
            float(np.sort(best_sim)[::-1][:2].mean()),
            float(best_sim.min()),
            len(analysis.claims),
            float(analysis.closer.max()),
            n,
            *_mistake_features(analysis, found, claims),
            *_flag_features(analysis),
            sum(c.opposite for c in about) / max(len(about), 1),
            float(np.mean([c.counterfactual for c in about])) if about else -1.0,
            100 * len(_ABSOLUTE.findall(analysis.text)) / max(len(analysis.text.split()), 1),
            sum(negated(s) for s in analysis.said) / claims,
            len(wrong) / claims,
            len(covered_by) / claims,
        ],
        dtype=np.float64,
    )


def _mistake_features(analysis: Analysis, found: Findings, claims: int) -> tuple[float, ...]:
    stated = (float(len(found.mistakes)), len(found.mistakes) / claims)
    if analysis.mistake_wrong is None or analysis.mistake_right is None:
        return (*stated, 0.0, -1.0, 0.0)
    lead = analysis.mistake_wrong - analysis.mistake_right
    near = ((analysis.mistake_wrong >= 0.6) & (lead > 0)).any(axis=0)
    return (*stated, float(analysis.mistake_wrong.max()), float(lead.max()), float(near.mean()))


def _flag_features(analysis: Analysis) -> tuple[float, float]:
    if analysis.flag_similarity is None or analysis.closest_point is None:
        return (-1.0, 0.0)
    lead = analysis.flag_similarity - analysis.closest_point[None, :]
    return (float(lead.max()), float(analysis.flag_similarity.max()))


def _red_flags(analysis: Analysis, p: Params) -> tuple[list[str], set[int]]:
    """The red flags stated (a claim very close to a known wrong claim, and not to a key point)."""
    stated: list[str] = []
    flagged: set[int] = set()
    if analysis.flag_similarity is None or analysis.closest_point is None:
        return stated, flagged
    for f, flag in enumerate(analysis.rubric.red_flags):
        hits = [
            i
            for i in range(len(analysis.claims))
            if analysis.flag_similarity[f, i] >= p.red_flag
            and analysis.flag_similarity[f, i] >= analysis.closest_point[i] + p.red_flag_margin
            and negated(analysis.said[i]) == analysis.flag_negated[f]
            and equates_when_flagged(flag, analysis.said[i])
        ]
        if hits:
            stated.append(flag)
            flagged.update(hits)
    return stated, flagged


def contradicts(c: Comparison, p: Params) -> bool:
    """On the point's topic, and saying its opposite: roles swapped, direction reversed or numbers
    wrong (with its words), negated or dismissed (and otherwise very close), or much closer to the
    point's counterfactual than to the point."""
    about = c.similarity >= p.topic or c.words >= p.topic_words
    if not about:
        return False
    if (c.swapped or c.reversed or c.numbers is True) and c.words >= p.topic_words:
        return True
    if c.numbers is True and c.similarity >= p.negation_similarity:
        return True
    # A negation alone is often a paraphrase ("does not stay on" for "is switched off"): it is wrong
    # when the claim says the point in the point's own words, negated.
    if c.dismissive or (c.stance and c.similarity >= p.negation_similarity and c.inside >= 0.7):
        return True
    # Closeness to an opposite is not evidence when the claim only repeats the point's own words.
    return c.counterfactual >= p.counterfactual and c.similarity >= p.negation_similarity and c.inside < 0.9


def states(c: Comparison, p: Params) -> bool:
    """Says what the point says: close enough in meaning or in essential words, and not against it
    (a dismissive claim, or one with the opposite direction, roles or numbers never covers a point,
    wrong or not; a negation alone is too often a paraphrase to rule it out)."""
    if c.swapped or c.reversed or c.numbers is True or c.dismissive or contradicts(c, p):
        return False
    if c.stance and c.counterfactual > 0:  # negated, and nearer the point's negation than the point
        return False
    return c.similarity >= p.cover or (c.words >= p.cover_words and c.similarity >= p.cover_low)


def score_for(covered: int, points: int, wrong: int, red_flags: int, params: Params | None = None) -> float:
    """Key points covered less wrong claims, as a share of the points, less a penalty per red flag."""
    p = params or Params()
    if points <= 0:
        return 0.0
    return max(0.0, min(1.0, (covered - p.wrong_weight * wrong) / points - p.red_flag_penalty * red_flags))


def _within(verdict: Verdict, score: float, p: Params) -> float:
    """``score`` moved into the band of ``verdict`` (correct: from ``correct_at``; partial: between)."""
    low, high = {
        Verdict.correct: (p.correct_at, 1.0),
        Verdict.partial: (p.partial_at, p.correct_at - 0.01),
        Verdict.incorrect: (0.0, p.partial_at - 0.01),
    }[verdict]
    return round(min(high, max(low, score)), 2)


def verdict_for(score: float, params: Params | None = None) -> Verdict:
    p = params or Params()
    if score >= p.correct_at:
        return Verdict.correct
    if score >= p.partial_at:
        return Verdict.partial
    return Verdict.incorrect


def _nothing(rubric: Rubric, why: str) -> Grade:
    grade = Grade(Verdict.incorrect, 0.0, [], list(rubric.key_points), [], "", feedback.model_answer(rubric),
                  list(rubric.sources))  # fmt: skip
    grade.feedback = feedback.nothing(rubric, why)
    return grade
