"""Reading a question: what kind of answer it wants, what it is about, and whether it is a follow-up.

A learner in a chat asks "what is dropout", then "why does it work?": the second question has no
subject of its own. ``follow_up_query`` rewrites it with the previous turn's subject ("why does
dropout work?") so that retrieval and card matching find the right material.
"""

from __future__ import annotations

import re

from bot.study.banks import CardKind
from bot.study.text import STOPWORDS, words

_KINDS: list[tuple[CardKind, re.Pattern[str]]] = [
    (
        CardKind.behavioral,
        re.compile(
            r"\b(tell me about a time|describe a (time|situation)|time (when )?you (had|disagreed|failed|made)|"
            r"star (method|format|framework)|behaviou?ral (question|interview)|biggest (failure|mistake)|"
            r"(a project|something) you('re| are) proud of)\b"
        ),
    ),
    (
        CardKind.design,
        re.compile(r"\b(design|architect|build)\b.{0,40}\b(system|pipeline|platform|service|engine|recommender)\b"),
    ),
    (
        CardKind.symptom,
        re.compile(
            r"^(why (is|are|does|do|did) )?(my|our)\b|\b(keeps?|stuck|went nan|is nan|nan loss|loss is nan|"
            r"out of memory|oom|crash(es|ed|ing)?|not (converging|decreasing|learning|improving)|"
            r"error|exception|diverg(es|ing|ed))\b"
        ),
    ),
    (CardKind.comparison, re.compile(r"\b(vs\.?|versus|difference|differences|differ|compare|compared|better than)\b")),
    (CardKind.example, re.compile(r"\b(example|walk me through an example|worked example|show me)\b")),
    # "what are the downsides of k-means" asks when not to use it, not what it is.
    (
        CardKind.when_to_use,
        re.compile(
            r"\b(downsides?|disadvantages?|drawbacks?|limitations?|limits|weakness(es)?|cons|shortcomings|"
            r"(the|any|a) catch|gotchas?|when not to|when (does|do|would|will) .{1,40} fail)\b"
        ),
    ),
    # "why use an orchestrator instead of cron jobs" asks what one gives over the other.
    (CardKind.comparison, re.compile(r"^why\b.{0,60}\b(instead of|rather than)\b")),
    (CardKind.why, re.compile(r"^(why\b|what('s| is) the point|whats the point)")),
    (CardKind.how_to, re.compile(r"^(how (do|can|should|would|to) |how to |ways to |best way|tips)")),
    (CardKind.when_to_use, re.compile(r"^(when (should|to|do|would)|should (i|we|you)|is it worth|do (i|we) need)\b")),
    (
        CardKind.definition,
        re.compile(
            r"^(what( i|')?s|what are|what does|whats|define|definition of|meaning of|explain|eli5|"
            r"what do (you|we|people) mean|describe)\b|^[\w\s'-]{1,40}\?*$"
        ),
    ),
]


def question_kind(question: str) -> CardKind | None:
    """The kind of answer a question asks for (a definition, a comparison, a fix ...), or None."""
    q = " ".join(question.lower().split())
    for kind, pattern in _KINDS:
        if pattern.search(q):
            return kind
    return None


# Words that say what kind of thing is asked, not what it is about (with contractions typed without
# the apostrophe, and fillers: "isnt that more prone to overfitting?").
_GENERIC_TEXT = """
    what whats why how when which who where is are was were do does did can could should would will
    example examples instance instances downside downsides upside upsides advantage advantages
    disadvantage disadvantages pro pros con cons limitation limitations drawback drawbacks problem
    problems benefit benefits alternative alternatives work working happen happens happened matter
    matters pick choose choosing picking tune tuning set setting fix fixing better worse faster slower
    instead again more less else give show tell walk through explain simple simply eli5 intuition
    intuitively mean meaning means define definition used useful good bad important importance point
    idea case cases time times anyway though still then also so and but or compare compared
    minimize minimise maximize maximise compute calculate computed handle handles prevent avoid
    detect improve reduce increase decrease get gets getting make makes making need needed
    help helps apply applied approach approaches way ways
    isnt arent doesnt dont didnt cant wont wouldnt shouldnt couldnt wasnt werent hasnt havent thats
    theres hows im ever actually really basically prone mess messes come comes right catch gotcha gotchas
    concrete real specific quick short simple
"""
_GENERIC = frozenset(_GENERIC_TEXT.split())
_PRONOUN = re.compile(r"\b(it|its|it's|this|that|they|them|these|those|their|the two|both|one(?!-))\b", re.IGNORECASE)
# "is it worth ...", "is it ok to ...", "what does it mean for ...": an "it" that points at nothing.
_EXPLETIVE = re.compile(
    r"\b(is|was|would|will|does|did) it (\w+ )?(worth|ok|okay|fine|normal|bad|good|true|possible|right|wrong|"
    r"better|worse|wise|necessary|safe|common|standard|a good idea|a bad idea|make sense)\b"
    r"|\bwhat does it (?:mean|look like) (?:for|when|if|to)\b|\bwhy is it called\b",
    re.IGNORECASE,
)
# Where a question's own earlier clause names what its pronoun points at: "what's an LSTM and why was
# it invented", "should i delete outliers? when is that ok".
_CLAUSE_END = re.compile(r"\s+and\s+|[?;,]\s*")
# "what's the catch?" asks for the downsides, in words the cards' phrasings use.
_CATCH = re.compile(
    r"\b(?:what'?s|whats|what is|is there|are there|any)\s+(?:the\s+|a\s+|other\s+)?(?:catch|gotchas?)\b", re.IGNORECASE
)
# "and for regression?", "same problem with the bert tokenizer then?": a question put in the previous one's terms.
_LEAD = re.compile(
    r"^\s*(and|but|so|ok|okay|then|also|what about|how about|"
    r"(?:is it |is that )?(?:the )?same(?: (?:problem|issue|thing|story|deal|question|idea))?)\b[\s,]*",
    re.IGNORECASE,
)
# "and for a gradient boosted tree model?": the previous question asked again of something else; its
# new subject may take several words.
_RETARGET = re.compile(r"^\s*(?:and|but|ok|okay|so)\b[\s,]*(?:for|with|in|on|using|under)\s+", re.IGNORECASE)
# "is that a wrapper method or an embedded one?": a question put to what was just said ("is it worth
# ...", "does it matter ..." point at nothing).
_OF_THAT = re.compile(
    r"^\s*(?:is|was|does|did|would|will|can|could|should|isn'?t|doesn'?t)\s+(?:that|it|this|they|those|these)\b"
    r"(?!\s+(?:\w+\s+)?(?:worth|ok|okay|fine|normal|true|possible|make sense|matter))",
    re.IGNORECASE,
)


# "What's a transformer in deep learning?": the field every question here is in says nothing of the
# subject, and would favour cards that happen to name the field.
_FIELD = re.compile(
    r"\b(?:in|for|within|of)\s+(?:deep learning|machine learning|ml|ai|data science|artificial intelligence)\b",
    re.IGNORECASE,
)


def without_field(question: str) -> str:
    """The question without a mention of the field itself ("... in deep learning")."""
    return _FIELD.sub(" ", question)


def subject_words(question: str) -> list[str]:
    """The words of a question that name its subject, in order ("bagging", "boosting")."""
    text = without_field(question)
    return [w for w in words(text) if w not in STOPWORDS and w not in _GENERIC and not _PRONOUN.fullmatch(w)]


# "difference between X and Y", "X vs Y", "how does X differ from Y", "X compared to Y".
_SIDES = re.compile(
    r"\bdifferences? between\s+(?P<a>.+?)\s+(?:and|&|vs\.?|versus)\s+(?P<b>.+?)(?:[?.!,;]|$)"
    r"|\b(?:how|where|why) (?:does|do|is|are) (?P<c>.+?)\s+(?:differ|different) from\s+(?P<d>.+?)(?:[?.!,;]|$)"
    r"|(?P<e>[\w .()/+-]+?)\s+(?:vs\.?|versus|compared (?:to|with))\s+(?P<f>[\w .()/+-]+?)(?:[?.!,;:]|$)",
    re.IGNORECASE,
)


def comparison_sides(question: str) -> list[list[str]]:
    """For a question comparing two things, each side's own subject words (those the other side does
    not share): "PCA vs ICA" -> [["pca"], ["ica"]]; [] when it compares nothing."""
    match = _SIDES.search(" ".join(without_field(question).split()))
    if match is None:
        return []
    a, b = [g for g in match.groups() if g is not None][:2]
    left, right = subject_words(a), subject_words(b)
    sides = [[w for w in left if w not in right], [w for w in right if w not in left]]
    return sides if all(sides) else []


def subject_of(question: str) -> str:
    return " ".join(subject_words(question))


def is_follow_up(question: str) -> bool:
    """A question that leans on the previous one: "why does it work?", "and for regression?"."""
    own = subject_words(question)
    if not own:
        return True
    if _LEAD.match(question) and len(own) <= 3:
        return True
    if _RETARGET.match(question) and len(own) <= 6:
        return True
    if _OF_THAT.match(question) and len(own) <= 4:
        return True
    text = _EXPLETIVE.sub(" ", question)
    pronoun = _PRONOUN.search(text)
    if pronoun is None:
        return False
    clauses = _CLAUSE_END.split(text[: pronoun.start()])
    if any(subject_words(c) for c in clauses[:-1]):  # it points back inside the question
        return False
    # A pronoun before any word of the question's own ("why is that so much lower than people guess?")
    # points at the previous answer, with up to four words of its own; after them, with up to two.
    return len(own) <= 2 or (len(own) <= 4 and not subject_words(clauses[-1]))


def follow_up_query(question: str, previous_subject: str) -> str | None:
    """The question with the previous subject put in, when it is a follow-up; else None."""
    if not previous_subject or not is_follow_up(question):
        return None
    text = _LEAD.sub("", question).strip() or question.strip()
    text = _CATCH.sub("what are the downsides", text)
    pronoun = _PRONOUN.search(text)
    if pronoun:
        word = pronoun.group(0).lower()
        replacement = f"{previous_subject}'s" if word in ("its", "their") else previous_subject
        return text[: pronoun.start()] + replacement + text[pronoun.end() :]
    return f"{text.rstrip(' ?')} ({previous_subject})?"


# Shorthand learners type that neither the cards' phrasings nor the embedding model read as the word
# it stands for ("train acc 99 val 60": no card matched, and the answer was "I don't know").
_SHORTHAND = {
    "acc": "accuracy",
    "val": "validation",
    "hparams": "hyperparameters",
    "hyperparams": "hyperparameters",
    "perf": "performance",
    "diff": "difference",
    "w/": "with",
    "w/o": "without",
    "b/c": "because",
    "bc": "because",
}
_SHORTHAND_WORD = re.compile(
    r"(?<![\w/.-])(" + "|".join(re.escape(k) for k in sorted(_SHORTHAND, key=len, reverse=True)) + r")(?![\w/-])",
    re.IGNORECASE,
)


def spelled_out(question: str) -> str:
    """The question with learners' shorthand written out: "val acc" -> "validation accuracy"."""
    return _SHORTHAND_WORD.sub(lambda m: _SHORTHAND[m.group(1).lower()], question)


# Where a question that asks two things splits: "What is multicollinearity, and why is it a problem?",
# "Explain NDCG. Why is it normalized?", "what does yield do? how is it different from return".
_PART_BREAK = re.compile(
    r"\?\s+(?=\S)|\.\s+(?=(?:what|why|how|when|which|where|is|are|does|do|can|should)\b)"
    r"|,?\s+and\s+(?=(?:what|why|how|when|which|where)\b)|;\s+",
    re.IGNORECASE,
)


def question_parts(question: str) -> list[str]:
    """The questions a message asks, in order (one for most)."""
    return [part.strip() for part in _PART_BREAK.split(question) if part.strip()]
