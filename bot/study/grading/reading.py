"""Reading a free-text answer: cut it into claims (sentences, long ones into clauses) and set aside
what is not an answer (instructions to the grader, restatements of the question, keyword lists)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bot.study.text import BULLET, split_sentences, terms

MAX_ANSWER_CHARS = 4000  # longer answers are truncated before embedding
MAX_UNITS = 40
CLAUSE_WORDS = 18  # sentences longer than this are cut into clauses
QUESTION_COPY_THRESHOLD = 0.95  # a unit this similar to the question is a copy of it
SPECIFICITY = 1.0  # weight of the "only on topic" discount (see match_scores)

Vector = np.ndarray


_CLAUSE = re.compile(r";\s+|,\s+(?=(?:and|but|while|whereas|so|which|because)\s)")
# A sentence may start with a lower-case name from code ("... one example. jax.vmap maps ...").
_CODE_START = re.compile(r"(?<=[a-z0-9)\]]\.)\s+(?=[a-z_][a-z0-9_]*[._(][a-z_])")
_TAG = re.compile(r"</?\s*[A-Za-z][\w-]*\s*>")
# Text addressed to whoever grades the answer, not about the subject.
_TO_THE_GRADER = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,30}\b(?:instructions?|prompts?|rubric|grading rules|system message)\b"
    r"|\b(?:ignore|disregard)\s+(?:all\s+|everything\s+)?(?:the\s+)?(?:above|previous|prior)\s*(?:$|[.!,;:])"
    r"|\b(?:give|award|assign)\b.{0,30}\b(?:full|maximum|max|perfect|all)\s+(?:marks?|points?|score|credit)\b"
    r"|\b(?:full|maximum)\s+(?:marks?|credit)\b"
    r"|\b(?:grade|mark|score|evaluate)\s+(?:this|it|me|my answer|the answer)\b.{0,30}"
    r"\b(?:correct|right|pass|passing|good|100|10/10|full|perfect)\b"
    r"|\byou\s+are\s+(?:now|no longer)\b|\bfrom now on,?\s+you\b|\bpretend (?:to be|you are)\b"
    r"|\b(?:as an ai|system prompt|new instructions?|developer mode|jailbreak)\b"
    r"|\b(?:the grader|dear grader|grading (?:model|system|assistant)|this answer is (?:correct|excellent|complete))\b"
    r"|^\s*(?:system|assistant)\s*:|\b(?:system|assistant)\s*:\s|</?\s*(?:system|instructions?|answer)\s*>",
    re.I,
)
# Words that glue an explanation together; a keyword list has none of them.
_FUNCTION_WORD_TEXT = """
    a an the this that these those it its they them their is are was were be been being am has have
    had do does did can could will would should may might must of to in on at by for with from into
    over under between than as if when while because so since which who whom whose what where how why
    and or but not no nor never only each every all any some more most less fewer then there here i
    we you he she one after before until without per across through about against cannot also both
    either via using such like
"""
# A short sentence can be a claim without function words ("Bagging mainly reduces variance."): it has
# a word in a verb's form ahead of another word. A keyword list has no such word.
_VERB_FORM = re.compile(r"^[a-z]{3,}(?:es|ed|izes|ises|ates)$")
_FUNCTION_WORDS = frozenset(_FUNCTION_WORD_TEXT.split())
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'+#.-]*")
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|neither|nor|cannot|without|hardly|rarely|nothing)\b|n't\b"
    r"|\b(?:wrong|false|myth|misleading|mistake|mistaken|incorrect|fallacy|misconception|untrue|pitfall)\b",
    re.I,
)
# Red flags describe a behaviour ("Claims that X", "Says X"): the claim is what an answer would state.
_REPORTING = re.compile(
    r"^(?:claims|says|states|believes|thinks|assumes|suggests|argues|insists|asserts|answers|concludes)"
    r"(?:\s+that)?\s+",
    re.I,
)
# "... without mentioning Y" says what the answer leaves out, not what it claims.
_QUALIFIER = re.compile(
    r"\s+(?:without\s+(?:mentioning|checking|considering|looking|testing|validating|measuring|asking|explaining|"
    r"describing|giving|noting)|ignoring|rather than checking|instead of checking)\b.*$",
    re.I,
)


# "I don't know", "no idea, sorry", "not sure", "pass": a unit that gives up instead of answering.
_GIVES_UP = re.compile(
    r"^\W*(?:(?:sorry|honestly|hmm+|um+|uh+|well|ok(?:ay)?)\W+)*"
    r"(?:i\s+(?:really\s+|honestly\s+)?(?:don'?t|do\s+not|dont)\s+(?:really\s+)?(?:know|remember|recall)"
    r"|(?:i\s+have\s+)?no\s+(?:idea|clue)|not\s+sure|i'?m\s+not\s+sure|no\s+answer|idk|dunno|pass|skip"
    r"|i\s+(?:can'?t|cannot)\s+(?:remember|recall|answer))"
    r"(?:\W+(?:sorry|at\s+all|really|honestly|the\s+answer|this(?:\s+one)?|that|here|yet|"
    r"what\s+(?:it|this|that)\s+(?:is|means)))*\W*$",
    re.IGNORECASE,
)


def gives_up(unit: str) -> bool:
    """A unit that only says the learner does not know ("No idea, sorry.", "I don't know this one")."""
    return bool(_GIVES_UP.match(unit.strip()))


@dataclass
class Reading:
    """How many units of an answer were set aside, and why."""

    instructions: int = 0
    restated: int = 0
    keywords_only: int = 0
    gave_up: int = 0  # units that only say "I don't know"
    truncated: bool = False


def answer_units(text: str) -> list[str]:
    """Sentences of an answer (list items are units of their own), long sentences cut into clauses."""
    paragraphs: list[str] = []
    current: list[str] = []
    text = _TAG.sub(lambda m: f"\n\n{m.group(0)}\n\n", text)  # "<system>" is a unit of its own
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or BULLET.match(stripped):
            if current:
                paragraphs.append(" ".join(current))
                current = []
            if stripped:
                current.append(BULLET.sub("", stripped))
            continue
        current.append(stripped)
    if current:
        paragraphs.append(" ".join(current))
    units: list[str] = []
    sentences = (s for p in paragraphs for s in split_sentences(p))
    for sentence in (part for s in sentences for part in _CODE_START.split(s)):
        if len(sentence.split()) > CLAUSE_WORDS:
            parts = [p.strip(" ,;") for p in _CLAUSE.split(sentence)]
            units.extend(p for p in parts if p)
        else:
            units.append(sentence)
    return units


def is_explanation(unit: str) -> bool:
    """False for keyword lists ("precision recall F1 ROC AUC"): no words that glue a claim together."""
    words: list[str] = [w.lower() for w in _WORD.findall(unit)]
    if len(words) < 3:
        return False
    glue = sum(w in _FUNCTION_WORDS or w.endswith("n't") for w in words)
    if glue >= 1 and glue / len(words) >= 0.12:
        return True
    sentence = unit.rstrip().endswith((".", "!"))
    if sentence and len(words) >= 6 and glue / len(words) >= 0.08:
        return True
    return sentence and any(_VERB_FORM.match(w) for w in words[1:-1])


def addresses_grader(unit: str) -> bool:
    return bool(_TO_THE_GRADER.search(unit))


def negated(text: str) -> bool:
    """Whether the text negates its claim an odd number of times ("not", "never", "is a myth"...)."""
    return len(_NEGATION.findall(text)) % 2 == 1


def red_flag_claim(flag: str) -> str:
    """The claim inside a red flag: "Claims that X without checking Y." -> "X"."""
    claim = _QUALIFIER.sub("", _REPORTING.sub("", flag.strip())).strip().rstrip(".")
    return (claim[:1].upper() + claim[1:]) if claim else flag


def shorten(text: str, limit: int = 70) -> str:
    """A key point named briefly: its first clause when that is long enough, at most ``limit`` chars."""
    text = text.strip().rstrip(".")
    head = re.split(r";\s+|,?\s+(?:so|which|because|while)\s+", text, maxsplit=1)[0]
    if len(head) >= 30:
        text = head
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def match_scores(q: Vector, point_v: Vector, cand_v: Vector) -> Vector:
    """Points x candidates: how well each candidate (an answer unit) states each point.

    The cosine similarity, less what the candidate shares with the question alone: a candidate
    that is closer to the question than the point is loses the difference. Otherwise any sentence
    on the topic ("dropout is used in neural networks") comes close to every point of the topic.
    """
    on_topic = np.maximum(0.0, (cand_v @ q)[None, :] - (point_v @ q)[:, None])
    scores: Vector = point_v @ cand_v.T - SPECIFICITY * on_topic
    return scores


def restates(unit: str, question: str, similarity: float) -> bool:
    """A unit that only repeats the question, or asks one: it does not answer anything.

    Similarity alone is not enough: "data drift and concept drift are the same thing" is very
    close to "what is the difference between data drift and concept drift?" and is a wrong claim
    to grade, not a copy. A restatement is also made of the question's own words.
    """
    if unit.rstrip().endswith("?") or similarity >= QUESTION_COPY_THRESHOLD:
        return True
    unit_terms = set(terms(unit))
    if not unit_terms:
        return False
    inside = len(unit_terms & set(terms(question))) / len(unit_terms)
    return similarity >= 0.75 and inside >= 0.9
