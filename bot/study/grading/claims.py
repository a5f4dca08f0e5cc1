"""Does a claim state a key point, or contradict it? More than topic similarity.

Two sentences about the same topic embed close together whatever they claim: "L1 gives sparse
weights" and "L2 gives sparse weights" are near neighbours for MiniLM. So a claim is compared with
a key point on what it says:

- **words**: the key point's essential words (idf-weighted, with synonyms) present in the claim;
- **roles**: paired terms (precision/recall, L1/L2, train/test, before/after the split ...) each
  tied to the same words as in the key point, not swapped;
- **direction**: no antonym where the key point has a direction word (higher/lower, more/less,
  increase/decrease, cheaper/costlier, always/never ...);
- **stance**: not negated relative to the key point, not dismissed ("never needed", "just a hack");
- **numbers**: when both give numbers, some agree;
- **counterfactuals**: the key point with its roles swapped, its direction reversed or negated;
  a claim closer to one of those than to the key point itself says the opposite.

``compare`` returns these as features; the grader's decision rule (``grader.Params``) turns them
into "states", "contradicts" or neither.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.study.grading.reading import answer_units, negated
from bot.study.text import STOPWORDS, stem, words

# Paired terms: each names one side of a distinction a confused answer swaps.
PAIRS: list[tuple[str, str]] = [
    ("precision", "recall"), ("l1", "l2"), ("lasso", "ridge"), ("bias", "variance"), ("train", "test"),
    ("training", "test"), ("training", "validation"), ("input", "output"), ("before", "after"),
    ("false positive", "false negative"), ("overfitting", "underfitting"), ("overfit", "underfit"),
    ("type i", "type ii"), ("encoder", "decoder"), ("supervised", "unsupervised"), ("bagging", "boosting"),
    ("sensitivity", "specificity"), ("data drift", "concept drift"), ("covariate", "concept"),
    ("data parallel", "model parallel"), ("on-policy", "off-policy"), ("generative", "discriminative"),
    ("etl", "elt"), ("narrow", "wide"), ("mcar", "mnar"), ("row", "column"), ("mean", "median"),
    ("horizontal", "vertical"), ("inner", "left"), ("merge", "rebase"), ("threads", "processes"),
    ("image", "container"), ("stateless", "stateful"), ("batch", "online"), ("batch", "streaming"),
    ("tpr", "fpr"), ("numerator", "denominator"), ("local", "global"), ("parametric", "non-parametric"),
    ("exploration", "exploitation"), ("bert", "gpt"), ("warehouse", "lake"), ("where", "having"),
    ("rows", "columns"), ("shallow", "deep"), ("independent", "dependent"), ("sigmoid", "softmax"),
    ("standardization", "normalization"), ("canary", "shadow"), ("latency", "throughput"),
    ("mae", "mse"), ("mae", "rmse"), ("type 1", "type 2"), ("data parallelism", "model parallelism"),
    ("gini", "entropy"), ("lstm", "gru"), ("fp16", "bf16"), ("pods", "nodes"),
]  # fmt: skip

# Direction words and their opposites: a claim with the opposite of the key point's direction says
# the reverse ("raises throughput" / "lowers throughput").
_ANTONYM_TEXT = """
    higher lower | high low | increase decrease | increases decreases | increased decreased |
    increasing decreasing | more less | more fewer | larger smaller | bigger smaller | raise lower |
    raises lowers | cheaper costlier | cheaper expensive | faster slower | better worse | always never |
    reduce increase | reduces increases | reduce raise | shrink grow | shrinks grows | above below |
    maximize minimize | maximizes minimizes | add remove | adds removes | convex non-convex |
    linear nonlinear | linear non-linear | parallel sequential | sequentially parallel | stable unstable |
    sparse dense | positive negative | before after | first last | increasing constant | helps hurts |
    improves degrades | underestimates overestimates | slows speeds | up down | larger lower |
    reduces raises | lowers raises | wider narrower | longer shorter | safer riskier | cheap expensive |
    easy hard | strong weak | small large | many few | most least | rare common | rarely often |
    required optional | must optional | needed unnecessary | fits underfits | sensitive insensitive |
    smallest largest | lowest highest | ascending descending | newest oldest | earliest latest
"""
ANTONYMS: dict[str, set[str]] = {}
for _pair in _ANTONYM_TEXT.split("|"):
    _a, _b = _pair.split()
    ANTONYMS.setdefault(_a, set()).add(_b)
    ANTONYMS.setdefault(_b, set()).add(_a)

# Dismissing a point instead of stating it.
# Saying the point's subject does not matter. Only as a predicate ("X is useless", "it doesn't help"):
# "adding even useless features" or "drop unnecessary columns" use the same words about something else,
# and "trees do not need scaling" is a claim of its own.
DISMISSAL = re.compile(
    r"\b(just a hack|(is|are) (a |just a )?hack|never (needed|necessary|matters?|helps?|useful)|"
    r"(doesn'?t|does not|don'?t|do not|won'?t|will not) (really )?(matter|help)|no need (to|for)|"
    r"(is|are|was|were|be|seems?|looks?) (really |totally |completely |mostly |just |basically )?"
    r"(useless|unnecessary|pointless|overrated|irrelevant|a myth|a waste of (time|money)|"
    r"not (needed|necessary|required|important|useful|worth it))|"
    r"waste of (time|money)|it never matters|not worth it|never worth)\b",
    re.IGNORECASE,
)

# Spellings and names that mean the same word.
SYNONYMS: dict[str, str] = {
    "ridge": "l2", "lasso": "l1", "regularisation": "regularization", "optimise": "optimize",
    "normalisation": "normalization", "standardisation": "standardization", "behaviour": "behavior",
    "labelled": "labeled", "modelling": "modeling", "nn": "neural", "lr": "learning", "ml": "machine",
    "cnn": "convolutional", "rnn": "recurrent", "gpu": "gpus", "sgd": "stochastic", "auc": "auc",
    "roc-auc": "auc", "tpr": "recall", "sensitivity": "recall", "fpr": "fallout", "k8s": "kubernetes",
    "dataframe": "dataframes", "hyperparameter": "hyperparameters", "weights": "weight", "params": "parameter",
    "parameters": "parameter", "minimise": "minimize", "maximise": "maximize", "utilisation": "utilization",
    "colour": "color", "analyse": "analyze", "catalogue": "catalog", "zeroes": "zero", "zeros": "zero",
}  # fmt: skip
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(\s*%|\s*(?:gb|mb|ms|x|bytes?)\b|[kmb]\b)?", re.IGNORECASE)


# "matches", "batches", "hashes", "indexes": the plural of a word ending in ch, sh or x drops "es", so
# it meets "match", "matched" and "matching" ("matche" did not, and a claim that said "keeps only rows
# whose key matches" read as saying what the point said of the other join); "cache" and "caches" give
# "cach", as "cached" and "caching" do.
_ES_PLURAL = re.compile(r"(?<=..)(?:ch|sh|x)es$")


def _norm(word: str) -> str:
    word = SYNONYMS.get(word, word)
    if _ES_PLURAL.search(word):
        return word[:-2]
    if word.endswith("che"):
        return word[:-1]
    return stem(word)


# "mean" is a statistic here (mean vs median), not the verb the search stopwords drop.
_STOPWORDS = STOPWORDS - {"mean"}


def content_terms(text: str) -> list[str]:
    """The stemmed content words of a text, synonyms folded together."""
    return [_norm(w) for w in words(text) if w not in _STOPWORDS and len(w) > 1]


class TermWeights:
    """idf of every content word over the rubric texts: rare words are the ones that matter."""

    def __init__(self, texts: Iterable[str]) -> None:
        docs = [set(content_terms(t)) for t in texts]
        df = Counter(t for d in docs for t in d)
        n = max(len(docs), 1)
        self.idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self.unseen = math.log(1 + n)

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unseen)


def _numbers(text: str) -> list[float]:
    """The numbers a text states (20k = 20,000; 5% = 5), leaving out lone digits, which are usually
    counts or list numbers."""
    out: list[float] = []
    for m in _NUMBER.finditer(text):
        raw = m.group(1).replace(",", "")
        unit = (m.group(2) or "").strip().lower()
        if re.fullmatch(r"\d", raw) and not unit:
            continue
        try:
            value = float(raw)
        except ValueError:
            continue
        out.append(value * {"k": 1e3, "m": 1e6, "b": 1e9}.get(unit, 1.0))
    return out


_Y_PLURAL = re.compile(r"[^aeiou]y$")  # "copy" / "copies"


@lru_cache(maxsize=4096)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    if _Y_PLURAL.search(phrase):
        return re.compile(r"(?<![a-z0-9])" + re.escape(phrase[:-1]) + r"(?:y|ies)(?![a-z0-9])")
    plural = r"(?:e?s)?" if phrase[-1:].isalpha() else ""
    return re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + plural + r"(?![a-z0-9])")


@lru_cache(maxsize=65536)
def _phrase_positions(text: str, phrase: str) -> tuple[int, ...]:
    """Where a phrase occurs as words of its own, in the singular or plural ("eigenvector(s)"). Cached:
    every claim is compared with every key point, and key points repeat across answers."""
    if (phrase[:-1] if _Y_PLURAL.search(phrase) else phrase) not in text:
        return ()
    return tuple(m.start() for m in _phrase_pattern(phrase).finditer(text))


def _context(text: str, phrase: str, other: str, stops: Sequence[str] = ()) -> set[str]:
    """The words said about ``phrase``: from it to the other side's first mention after it (or of one
    of ``stops``, the other items of its list), or the end of its clause. When nothing is said after
    it, because it ends its clause ("the constant that minimizes MAE is the median"), the words before
    it in the same clause."""
    out: set[str] = set()
    for start in _phrase_positions(text, phrase):
        after = text[start + len(phrase) :]
        cut = sorted(p for o in (other, *stops) if o != phrase for p in _phrase_positions(after, o))
        segment = after[: cut[0]] if cut else after
        segment = re.split(r"[.;]|\b(?:while|whereas|but)\b", segment)[0]
        said = set(content_terms(segment))
        if not said:
            before = re.split(r"[.;,:]|\b(?:while|whereas|but)\b", text[:start])[-1]
            cut = [p for p in _phrase_positions(before, other)]
            said = set(content_terms(before[cut[-1] + len(other) :] if cut else before))
        out |= said
    return out - set(content_terms(phrase)) - set(content_terms(other))


def _clause_after(text: str, phrase: str) -> set[str]:
    """The words of the clause after a phrase, whatever other side it names."""
    out: set[str] = set()
    for start in _phrase_positions(text, phrase):
        segment = re.split(r"[.;,]|\b(?:while|whereas|but)\b", text[start + len(phrase) :])[0]
        out |= set(content_terms(segment))
    return out - set(content_terms(phrase))


def _says(text: str, phrase: str) -> bool:
    """A one-word phrase in the text in any form ("train" for "training"); longer ones are matched as
    phrases only, since their words also occur apart ("the data" is not "data parallelism")."""
    wanted = content_terms(phrase)
    return len(phrase.split()) == 1 and len(wanted) == 1 and wanted[0] in set(content_terms(text))


# Code a key point names side by side: `--soft`, `--mixed` and `--hard`; `model.eval()` and `torch.no_grad()`.
_CODE = re.compile(r"`([^`\n]{2,40})`")


@lru_cache(maxsize=4096)
def point_pairs(point: str) -> tuple[tuple[str, str], ...]:
    """The pairs among the short code terms of one key point: an answer that says of one what the
    point says of another has swapped them, as with any other pair."""
    terms: list[str] = []
    for m in _CODE.finditer(point):
        term = " ".join(m.group(1).lower().split())
        if len(term.split()) <= 3 and content_terms(term) and term not in terms:
            terms.append(term)
    return tuple((a, b) for i, a in enumerate(terms) for b in terms[i + 1 :] if _siblings(a, b))


@lru_cache(maxsize=4096)
def _point_text(point: str) -> str:
    """A key point lower-cased, its code unquoted with commas inside code read as spaces ("`x[[1, 5]]`"
    is no clause break). Cached: every claim of every answer is compared with it."""
    return _CODE.sub(lambda m: m.group(1).replace(",", " "), point.lower())


def _siblings(a: str, b: str) -> bool:
    """Two options of one thing: flags (`--soft`, `--hard`), or one command's subcommands (`git revert`,
    `git reset`). Other code a point names side by side (`compile()` then `fit()`) is steps, not options."""
    if a in b or b in a:
        return False
    if a.startswith("-") and b.startswith("-"):
        return True
    aw, bw = a.split(), b.split()
    return len(aw) == len(bw) == 2 and aw[0] == bw[0]


def swapped_roles(claim: str, point: str, pairs: Sequence[tuple[str, str]] = ()) -> bool:
    """Both sides of a pair in both texts, and what the point says of one the claim says of the other.
    ``pairs`` adds the question's own pairs (``question_pairs``) to the usual ones, and the point's
    code terms are pairs too (``point_pairs``)."""
    c, p = claim.lower(), _point_text(point)
    listed = point_pairs(point)
    every = [*PAIRS, *pairs, *listed]
    stops = tuple({t for pair in listed for t in pair})
    named = {*pairs, *listed}
    for a, b in every:
        if not (_phrase_positions(p, a) and _phrase_positions(p, b)):
            continue
        if not (_phrase_positions(c, a) and _phrase_positions(c, b)):
            continue
        pa, pb = _context(p, a, b, stops), _context(p, b, a, stops)
        ca, cb = _context(c, a, b, stops), _context(c, b, a, stops)
        straight = len(ca & pa) + len(cb & pb)
        crossed = len(ca & pb) + len(cb & pa)
        if crossed > straight and crossed >= 2:
            return True
    # The claim says of one side what the point says of the other, more than the point says of that
    # side and more than the claim says of the other side itself.
    for a, b in every:
        for x, y in ((a, b), (b, a)):
            if not _phrase_positions(p, x) or not _phrase_positions(c, y):
                continue
            claim_has_x = bool(_phrase_positions(c, x))
            if not claim_has_x and _says(c, x):  # "train" for "training": the same side in other words
                continue
            said_of_x = _context(p, x, y, stops)
            around_c = _context(c, y, x, stops)
            crossed = len(said_of_x & around_c)
            straight = max(
                len(_context(p, y, x, stops) & around_c) if _phrase_positions(p, y) else 0,
                len(_context(c, x, y, stops) & said_of_x) if claim_has_x else 0,
                # "A Deployment keeps ... identical pod replicas running": the other side named inside
                # what the point says of this one does not end what it says.
                len(_clause_after(p, y) & around_c),
            )
            if crossed >= 2 and crossed > straight:
                return True
            # The question's own two things and the point's options (not "before"/"after" and the like,
            # whose clause openings say when, not what): what the claim calls one, the point calls the other.
            if not claim_has_x and (a, b) in named and _subject_swapped(c, p, x, y):
                return True
    return False


def about_the_other_side(claim: str, statement: str, pairs: Sequence[tuple[str, str]] = ()) -> bool:
    """The statement names one side of a pair and not the other, and the claim the other and not the
    first: "an INNER JOIN keeps only matching rows" is about another thing than the misconception "a
    LEFT JOIN keeps only matching rows", and is true of it."""
    c, s = claim.lower(), _point_text(statement)
    for a, b in [*PAIRS, *pairs]:
        for x, y in ((a, b), (b, a)):
            one = _phrase_positions(s, x) and not _phrase_positions(s, y)
            if one and _phrase_positions(c, y) and not _phrase_positions(c, x):
                return True
    return False


def _subject(text: str, phrase: str) -> set[str]:
    """The words before a phrase in its clause, the thing it is said of: "a basic slice like x[1:5] is
    a view" -> basic, slice."""
    out: set[str] = set()
    for start in _phrase_positions(text, phrase):
        out |= set(content_terms(_CLAUSE.split(_BRACKETS.sub(" ", text[:start]))[-1]))
    return {t[:4] for t in out - set(content_terms(phrase))}  # "slicing" and "slice" stem apart


_BRACKETS = re.compile(r"\[[^\]]*\]|\([^)]*\)")  # "a[:, 0]" is no clause break
_CLAUSE = re.compile(r"[.;,:]\s|\b(?:while|whereas|but)\b")


def _subject_swapped(claim: str, point: str, x: str, y: str) -> bool:
    """The claim calls y what the point calls x: "basic slicing gives you a copy" where the point has "a
    basic slice is a view, while boolean masks return copies"."""
    theirs, mine = _subject(point, x), _subject(claim, y)
    crossed = len(theirs & mine)
    straight = len(_subject(point, y) & mine) if _phrase_positions(point, y) else 0
    return crossed >= 2 and crossed > straight


# Words that set what follows aside: "tests import the installed package, not the files in the current
# directory"; "moves the pointer instead of creating a merge commit".
_ASIDE = re.compile(r"\b(?:instead of|rather than|in place of|as opposed to)\b|,\s*(?:and\s+)?not\b", re.I)
_ASIDE_END = re.compile(r"[.;:,!?()]|\b(?:but|while|whereas|so|because|which|and then|then)\b", re.I)
_ASIDE_WORDS = 6  # content words a marker sets aside at most


@lru_cache(maxsize=65536)
def _aside(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """A text's content terms split into those it affirms and those it sets aside ("instead of X",
    "rather than X", ", not X"); the two never overlap."""
    low = text.lower()
    aside: set[str] = set()
    for m in _ASIDE.finditer(low):
        segment = _ASIDE_END.split(low[m.end() :], maxsplit=1)[0]
        aside |= set(content_terms(segment)[:_ASIDE_WORDS])
    return frozenset(set(content_terms(low)) - aside), frozenset(aside)


def scope_swapped(claim: str, point: str) -> bool:
    """The claim affirms what the point sets aside and sets aside what the point affirms: "tests import
    straight from the working directory instead of an installed copy" against "tests can only import the
    installed package, not whatever files sit in the current directory"."""
    claim_yes, claim_no = _aside(claim)
    if not claim_no:
        return False
    point_yes, point_no = _aside(_point_text(point))
    if not point_no:
        return False
    return bool(point_no & claim_yes) and bool(point_yes & claim_no)


# "the difference between A and B", "A vs B", "compare A and B", "A rather than B": the two things a
# question sets against each other, which a confused answer swaps.
_END = r"(?=[,?;:](?:\s|$)|\.(?:\s|$)|\s+and\s+(?:how|why|when|what|which)\b|$)"
_BETWEEN = re.compile(r"\bbetween\s+(.+?)\s+and\s+(.+?)" + _END, re.I)
_VERSUS = re.compile(r"([\w.()'/ -]+?)\s+(?:vs\.?|versus)\s+([\w.()'/ -]+?)" + _END, re.I)
_COMPARE = re.compile(r"\b(?:compare|contrast|explain)\s+(.+?)\s+(?:and|with)\s+(.+?)" + _END, re.I)
_NOT_A_SIDE = re.compile(r"^(?:including|include|say|how|what|why|when|where|which|who|whether|time|a time)\b", re.I)
_RATHER = re.compile(
    r"\b(?:a|an|the)?\s*([\w.()' -]+?)\s+(?:rather than|instead of)\s+(?:a |an |the )?([\w.()' -]+?)" + _END, re.I
)
# "What are eigenvalues and eigenvectors?": two short things asked about together.
_AND = re.compile(
    r"^\s*(?:what|how)\s+(?:are|is|do|does)\s+([\w.()' -]+?)\s+and\s+([\w.()' -]+?)"
    r"(?:\s+(?:each\s+)?(?:do|does|mean|measure|control|represent|differ))?\s*[?,]",
    re.I,
)  # "What do Ray Train and Ray Tune each do, and ...?", "What do precision and recall measure?"
# "a view or a copy", "a view and when a copy": two single things set against each other.
_EITHER = re.compile(r"\b(?:a|an)\s+([a-z][\w-]*)\s+(?:or|and\s+when)\s+(?:a|an)\s+([a-z][\w-]*)\b", re.I)
_TAIL = re.compile(r"\s+(?:in|for|of|on|with|during|as|when|at|to)\s+.*$", re.I)
_LEAD = re.compile(r"^(?:the|a|an|its|their|your|using|use of)\s+", re.I)


def _sides(text: str) -> list[str]:
    """One side of a contrast, or the items of a list ("NDCG, MAP" -> two), without articles or a
    trailing qualifier ("services in Kubernetes" -> "services")."""
    items = re.split(r",\s*(?:and\s+|or\s+)?", " ".join(text.split()))
    out = [_singular(_TAIL.sub("", _LEAD.sub("", i.strip(" .,'\""))).lower()) for i in items]
    return [o for o in out if o and not _NOT_A_SIDE.match(o)]


def _singular(side: str) -> str:
    """ "ray actors" -> "ray actor" (a phrase also matches its plural, not the other way round)."""
    head, _, last = side.rpartition(" ")
    if len(last) > 3 and last.isalpha() and last.endswith("s") and not last.endswith(("ss", "is", "us", "as")):
        last = last[:-3] + "y" if last.endswith("ies") else last[:-1]
    return f"{head} {last}".strip()


def _distinct(a: str, b: str) -> tuple[str, str] | None:
    """The two sides cut to what tells them apart: "type 2 slowly changing dimension" against "type 1
    table" -> ("type 2", "type 1"); "L1" against "L2 regularization" -> ("l1", "l2")."""
    aw, bw = a.split(), b.split()
    if not aw or not bw or aw == bw:
        return None
    if len(aw) != len(bw) and min(len(aw), len(bw)) == 1 and aw[0][0] == bw[0][0] and aw[-1] != bw[-1]:
        aw, bw = aw[:1], bw[:1]  # "l1" / "l2 regularization": the shared noun is said once
    if len(aw) <= 3 and len(bw) <= 3:
        return (" ".join(aw), " ".join(bw)) if aw != bw else None
    same = 0
    while same < min(len(aw), len(bw)) - 1 and aw[same] == bw[same]:
        same += 1
    if same == 0:
        return None
    a2, b2 = " ".join(aw[: same + 1]), " ".join(bw[: same + 1])
    return (a2, b2) if a2 != b2 else None


@lru_cache(maxsize=2048)
def question_pairs(question: str) -> tuple[tuple[str, str], ...]:
    """The pairs of terms a question contrasts, to check for swapped roles beside ``PAIRS``."""
    out: list[tuple[str, str]] = []
    for pattern in (_BETWEEN, _VERSUS, _COMPARE, _RATHER, _AND, _EITHER):
        for m in pattern.finditer(question):
            first = m.group(1)
            if pattern is _RATHER:  # "why does training need a type 2 table rather than ...": the last phrase
                first = re.split(r"\b(?:a|an|the|need|needs|use|uses|using|choose|prefer|pick|want)\s+", first)[-1]
            items = [*_sides(first), *_sides(m.group(2))]
            if pattern is _AND and any(len(i.split()) > 3 for i in items):
                continue
            for i, a in enumerate(items):
                for b in items[i + 1 :]:
                    pair = _distinct(a, b)
                    if not pair:
                        continue
                    found = [pair]
                    aw, bw = pair[0].split(), pair[1].split()
                    if len(aw) > 1 and len(bw) > 1 and aw[0] == bw[0]:  # "data warehouse" / "data lake": also
                        found.append((" ".join(aw[1:]), " ".join(bw[1:])))  # "warehouse" / "lake"
                    for f in found:
                        if all(content_terms(side) for side in f) and f not in out:
                            out.append(f)
    return tuple(out)


def _direction_words(text: str) -> set[str]:
    """The words of a text, with the direction word that opens a compound ("low" of "low-cardinality",
    "higher" of "higher-order") as a word of its own."""
    out = set(words(text))
    for word in list(out):
        head = word.split("-", 1)[0]
        if head != word and head in ANTONYMS:
            out.add(head)
    return out


def reversed_direction(claim: str, point: str) -> bool:
    """The claim has the opposite of a direction word of the point, and not the word itself. An opposite
    the point also uses does not count: "low bias, high variance" is half of "low bias and high variance
    for small k, higher bias for large k", not its reverse."""
    cw, pw = _direction_words(claim), _direction_words(point)
    return any(word in pw and word not in cw and ANTONYMS[word] & (cw - pw) for word in ANTONYMS)


_UP = "high higher more larger large bigger big increase increases increased raise raises raised grows greater"
_DOWN = "low lower less fewer smaller small decrease decreases decreased reduce reduces reduced shrinks lowers"
POLARITY = {**{w: 1 for w in _UP.split()}, **{w: -1 for w in _DOWN.split()}}
_MODIFIED = re.compile(r"\b(" + "|".join(POLARITY) + r")\s+(?:the\s+|a\s+|its\s+)?([a-z][a-z0-9-]+)", re.I)


def _directions(text: str) -> dict[str, set[int]]:
    """What a text says goes up or down: "low bias and high variance" -> {bias: {-1}, variance: {+1}}."""
    out: dict[str, set[int]] = {}
    for m in _MODIFIED.finditer(text):
        noun = _norm(m.group(2).lower())
        if noun not in POLARITY:
            out.setdefault(noun, set()).add(POLARITY[m.group(1).lower()])
    return out


def opposite_directions(claim: str, point: str, clause: str | None = None) -> bool:
    """The claim says something goes the other way from the point's matching clause ("a small k gives
    high bias" against "a small k gives low bias"), and never the same way."""
    mine, theirs = _directions(claim), _directions(clause or _nearest_clause(claim, point))
    shared = [n for n in mine if n in theirs and len(theirs[n]) == 1 and len(mine[n]) == 1]
    return bool(shared) and all(mine[n] != theirs[n] for n in shared)


def dismissed(claim: str, point: str) -> bool:
    return bool(DISMISSAL.search(claim)) and not DISMISSAL.search(point)


def numbers_disagree(claim: str, point: str) -> bool | None:
    """True when both give numbers and none of the claim's is within 5% of one of the point's, False
    when one is, None when they are not comparable."""
    pn, cn = _numbers(point), _numbers(claim)
    if not pn or not cn:
        return None
    close = any(abs(a - b) <= 0.05 * max(abs(a), abs(b), 1e-9) for a in pn for b in cn)
    return not close


def counterfactuals(point: str, pairs: Sequence[tuple[str, str]] = ()) -> list[str]:
    """The key point saying the opposite: roles swapped, direction reversed, or negated."""
    out: list[str] = []
    low = point.lower()
    for a, b in [*pairs, *PAIRS]:
        if _phrase_positions(low, a) and _phrase_positions(low, b):

            def swap(m: re.Match[str], a: str = a, b: str = b) -> str:
                return b if m.group(1).lower() == a else a

            swapped = re.sub(rf"(?i)(?<![a-z0-9])({re.escape(a)}|{re.escape(b)})(?![a-z0-9])", swap, point)
            out.append(swapped)
            break
    tokens = re.findall(r"\w+|\W+", point)
    for i, token in enumerate(tokens):
        opposite = ANTONYMS.get(token.lower())
        if opposite:
            flipped = [*tokens]
            flipped[i] = sorted(opposite)[0]
            out.append("".join(flipped))
            break
    negation = re.sub(r"\b(is|are|can|does|do|will|should|must)\b", r"\1 not", point, count=1)
    if negation != point:
        out.append(negation)
    return out[:3]


@dataclass(frozen=True)
class Comparison:
    """How one claim relates to one key point (features for the grader's decision rule)."""

    similarity: float  # topic-adjusted cosine (see reading.match_scores)
    words: float  # share of the point's essential words the claim has (idf-weighted), 0..1
    swapped: bool
    reversed: bool
    stance: bool  # negated relative to the point, or dismissive
    numbers: bool | None  # None: not comparable; True: they disagree; False: they agree
    counterfactual: float  # how much closer the claim is to the point's opposite than to the point
    inside: float = 0.0  # share of the claim's content words that the point uses too
    dismissive: bool = False  # "is just a hack", "never needed"... where the point is not

    @property
    def opposite(self) -> bool:
        return self.swapped or self.reversed or self.stance or self.numbers is True


def word_coverage(claim_terms: set[str], point: str, weights: TermWeights) -> float:
    """The idf-weighted share of the point's content words that the claim uses."""
    point_terms = _point_terms(point)
    if not point_terms:
        return 0.0
    total = sum(weights.weight(t) for t in point_terms)
    return sum(weights.weight(t) for t in point_terms & claim_terms) / total


def _nearest_clause(claim: str, point: str) -> str:
    """The clause of ``point`` that shares most words with ``claim``: a claim that states one clause
    of a point is compared with that clause, so "writes are idempotent" does not read as the negation
    of "writes are idempotent, so a retry does not duplicate"."""
    clauses = _clauses(point)
    if len(clauses) <= 1:
        return point
    terms = set(content_terms(claim))
    return max(clauses, key=lambda c: len(terms & set(content_terms(c))))


@lru_cache(maxsize=4096)
def _clauses(point: str) -> tuple[str, ...]:
    """A key point's clauses (key points repeat across every answer graded on them)."""
    return tuple(answer_units(point))


def compare(
    claim: str,
    point: str,
    similarity: float,
    counterfactual: float,
    weights: TermWeights,
    pairs: Sequence[tuple[str, str]] = (),
) -> Comparison:
    clause = _nearest_clause(claim, point)
    dismissive = dismissed(claim, point)
    return Comparison(
        similarity=similarity,
        words=word_coverage(set(content_terms(claim)), point, weights),
        swapped=swapped_roles(claim, point, pairs) or scope_swapped(claim, point),
        reversed=reversed_direction(claim, point) or opposite_directions(claim, point, clause),
        stance=opposed_stance(claim, clause) or dismissive,
        numbers=numbers_disagree(claim, point),
        counterfactual=counterfactual,
        inside=_inside(claim, point),
        dismissive=dismissive,
    )


# Verbs that deny what follows them: "no_grad() stops autograd from recording a graph" says what "no
# graph is recorded" says, and "eval() does not disable gradients" negates twice.
_DENYING_VERB = re.compile(
    r"\b(?:stops?|stopping|stopped|prevents?|prevented|preventing|disables?|disabled|disabling|avoids?|avoided|"
    r"avoiding|turns? off|turned off|switch(?:es)? off|switched off|(?:is|are|be|stays?|goes|go) off|lacks?|lacking|"
    r"skips?|skipped|skipping)\b",
    re.IGNORECASE,
)
# A negation and the words it governs: "don't clash with ...", "never needs a ...".
_NEGATED_WORDS = re.compile(
    r"(?:\b(?:not|no|never|cannot|without|nothing|none)\b|n't\b)\s+((?:[\w'-]+\s+){0,3}[\w'-]+)", re.IGNORECASE
)
_FILLER_TEXT = """
    be been being is are was were have has had do does did any a an the it its they them their this that
    really always even
"""
_FILLER = frozenset(_FILLER_TEXT.split())


# A harm denied is a good thing affirmed: "dependencies don't clash with other projects".
_HARM_DENIED = re.compile(
    r"(?:\b(?:not|never|no)\b|n't\b)\s+(?:\w+\s+)?(?:clash|conflict|interfere|leak|crash|hurt|harm|break)\w*", re.I
)


@lru_cache(maxsize=4096)
def _point_terms(point: str) -> frozenset[str]:
    """A key point's content terms, computed once: every claim of every answer is compared with it."""
    return frozenset(content_terms(point))


# Notes that switch something off in two words at the start of a clause: "inference: dropout off, every
# unit used" says what "dropout is switched off" says.
_TERSE_OFF = re.compile(r"(?:^|[:;(,])\s*[a-z][\w-]*\s+off\b(?!-)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _denies(text: str) -> bool:
    """``negated``, with verbs that deny ("stops", "prevents", "disables", notes' "dropout off") counted as
    negations too, and a denied harm ("don't clash") not counted."""
    flips = len(_DENYING_VERB.findall(text)) + len(_HARM_DENIED.findall(text)) + len(_TERSE_OFF.findall(text))
    return negated(text) != (flips % 2 == 1)


# Verbs that say the same of their object: a claim that "soft labels don't contain more" denies a point
# that they "carry more". Folded only when matching what a negation governs against a point.
_ALIKE_GROUPS = """
    carry contain hold include encode store keep retain preserve capture
    need require
    help improve boost benefit
    reduce lower decrease cut shrink lessen
    increase raise grow
    use utilize employ
    change alter affect modify
    guarantee ensure
"""
_ALIKE = {stem(w): stem(line.split()[0]) for line in _ALIKE_GROUPS.strip().splitlines() for w in line.split()}


def _alike(terms: Iterable[str]) -> set[str]:
    return {_ALIKE.get(t, t) for t in terms}


def opposed_stance(claim: str, point: str) -> bool:
    """The claim is negated where the point is not (or the other way round), and what the claim negates
    is something the point talks about: "dependencies don't clash with other projects" is not the
    negation of "an isolated set of packages ... separate from other projects"."""
    if _denies(claim) == _denies(point):
        return False
    if not negated(claim):  # the point is the negated one: the claim asserts what it denies
        return True
    point_terms = _point_terms(point)
    governed = set()
    for m in _NEGATED_WORDS.finditer(claim):
        kept = [w for w in m.group(1).lower().split() if w not in _FILLER][:2]
        governed |= set(content_terms(" ".join(kept)))
    return not governed or bool(_alike(governed) & _alike(point_terms))


def _inside(claim: str, point: str) -> float:
    mine = set(content_terms(claim))
    return len(mine & _point_terms(point)) / len(mine) if mine else 0.0


def repeats_a_point(claim: str, points: Sequence[str], share: float = 0.9) -> bool:
    """Whether the claim's content words nearly all come from one key point: it repeats that point
    (or a clause of it), whatever it is close to in meaning."""
    return any(_inside(claim, point) >= share for point in points)


def quote(text: str, limit: int = 90) -> str:
    """A claim quoted briefly in feedback."""
    text = " ".join(text.split()).rstrip(".")
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def essential(points: Sequence[str]) -> TermWeights:
    return TermWeights(points)
