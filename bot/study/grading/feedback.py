"""Feedback a learner reads: the verdict, what they got right (briefly quoted), what was wrong with
the correction, at most three missed points, and where to read. Nothing is said twice."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.study.grading.claims import quote
from bot.study.grading.model import Grade, Rubric, Verdict, WrongClaim
from bot.study.grading.reading import MAX_ANSWER_CHARS, Reading, lower_first, shorten

MAX_MISSED = 3
COVERED_CHARS = 90  # a covered point named by its first clause: the learner knows the rest
HEADS = {Verdict.correct: "Correct.", Verdict.partial: "Partly right.", Verdict.incorrect: "Not yet."}


def model_answer(rubric: Rubric) -> str:
    return rubric.model_answer or " ".join(rubric.key_points)


def read_hint(sources: Sequence[str]) -> str:
    return f"Read: {sources[0]}." if sources else ""


def why_nothing(reading: Reading, text: str = "") -> str:
    if reading.gave_up and not (reading.instructions or reading.keywords_only or reading.restated):
        return "No answer given, so there is nothing to grade yet: the model answer shows what to say."
    if len(re.findall(r"[A-Za-z]{2,}", text)) < 3:  # "?", "skip", "idk": no attempt, not a list of terms
        return "Nothing was answered."
    if reading.instructions:
        return "Nothing was answered: instructions to the grader are not an answer and were ignored."
    if reading.restated:
        return "Nothing was answered: the answer only restates the question."
    if reading.keywords_only:
        return "Nothing was explained: a list of terms is not an answer; say how they relate."
    return "Nothing was answered."


def nothing(rubric: Rubric, why: str) -> str:
    return f"{why} {read_hint(rubric.sources)}".strip()


def said_instead(wrong: Sequence[WrongClaim], lead: str = "You said", limit: int = 2) -> list[str]:
    """Wrong claims with their corrections, "You said “X”; in fact: Y.", one correction each: claims
    corrected by the same key point are quoted together ("You said “A” and “B”; in fact: Y.")."""
    by_correction: dict[str, list[str]] = {}
    for w in wrong:
        saids = by_correction.setdefault(w.correction, [])
        if w.said not in saids:
            saids.append(w.said)
    out = []
    for correction, saids in list(by_correction.items())[:limit]:
        width = 80 if len(saids) == 1 else 55
        said = " and ".join(f"“{quote(s, width)}”" for s in saids[:2])
        out.append(f"{lead} {said}; in fact: {shorten(correction, 110)}.")
    return out


def careful(flag: str, who: str = "your answer") -> str:
    """A red flag the answer raised: "Careful: your answer swaps ..., which is wrong." """
    return f"Careful: {who} {lower_first(flag.rstrip('.'))}, which is wrong."


def write(rubric: Rubric, grade: Grade, reading: Reading) -> str:
    n = len(rubric.key_points)
    parts = [HEADS[grade.verdict]]
    # Points matched, no single claim caught as wrong, and still "incorrect": the scorer read the answer as a
    # confident wrong one in the subject's words (or could not read a right one), so what matched is not
    # to be trusted ("You got: “optimizer.step() already clears the gradients”" would teach the mistake):
    # the key points are named.
    doubtful = grade.verdict is Verdict.incorrect and bool(grade.covered) and not grade.wrong and not grade.red_flags
    if doubtful:
        # No claim was caught as wrong, so none is named: the grader may have missed a right answer put
        # in other words (terse notes, a worked example), or the answer may be right as far as it goes and
        # stop short; "what it claims does not match" told such a learner their true statements were false.
        parts.append(
            "It is on the subject, but it falls short of the key points or says something different about"
            " them; compare them with yours."
        )
        parts.append(_listed("The key points: ", rubric.key_points))
    elif grade.verdict is Verdict.partial and not grade.covered:
        # "Partly right. You covered 0 of 5" contradicts itself: the answer is on the subject as a whole.
        parts.append("It is on the subject, but none of the key points is stated clearly.")
    elif grade.verdict is not Verdict.correct and grade.covered:
        # Below "correct", the points covered are named in the rubric's words, not quoted from the answer:
        # on sets 16-20, 282 of the 698 claims quoted this way came from confidently wrong answers, whose
        # claims match a point on its subject while saying something false about it ("You got: “Use
        # asyncio for CPU-bound work”" taught the mistake).
        named = "; ".join(shorten(k, COVERED_CHARS) for k in grade.covered[:2])
        more = f" (and {len(grade.covered) - 2} more)" if len(grade.covered) > 2 else ""
        parts.append(f"You covered {len(grade.covered)} of {n} key points: {named}{more}.")
    elif grade.verdict is not Verdict.correct or len(grade.covered) == n:
        # A "correct" from the scorer with few points matched says nothing a count would contradict.
        parts.append(f"You covered {len(grade.covered)} of {n} key points.")
    # The learner's own words are quoted back only for a "correct" answer.
    correct = grade.verdict is Verdict.correct
    got = [quote(q, 70) for q in dict.fromkeys(q for q in grade.quotes if q)][:2] if correct else []
    if got:
        parts.append("You got: " + "; ".join(f"“{g}”" for g in got) + ".")
    parts += said_instead(grade.wrong)  # none for a "correct" answer (see ``OfflineGrader.decide``)
    parts += [careful(flag) for flag in grade.red_flags[:2]]
    if grade.verdict is Verdict.correct and not grade.covered:
        # The scorer found the answer right as a whole while no key point matched on its own: listing
        # every point as something to add would contradict the verdict.
        parts.append("Compare with the model answer for anything you put differently.")
    elif grade.missed and not doubtful:
        parts.append(_listed("You could add: " if grade.verdict is Verdict.correct else "Missing: ", grade.missed))
    if reading.instructions:
        parts.append("Instructions to the grader were ignored.")
    if reading.truncated:
        parts.append(f"Only the first {MAX_ANSWER_CHARS} characters were graded.")
    hint = read_hint(grade.sources)
    if hint and grade.verdict is not Verdict.correct:
        parts.append(hint)
    return " ".join(p.replace("….", "…") for p in parts)


# A missed point is what the learner should learn: named whole when it fits in this many characters,
# else by its first clause ("During training, dropout sets each unit's activation to zero with a…" at
# 70 characters read as a riddle).
POINT_CHARS = 150


# A behavioral rubric's lines of its example story ("Situation: our team's fraud model kept serving ...")
# are not points a learner with another story missed: they are named as the parts of a story to make
# concrete.
_STORY_LINE = re.compile(r"^(situation|task|action|result)s?(?: and (task|action|result))?\s*:", re.IGNORECASE)


def _listed(lead: str, points: Sequence[str]) -> str:
    """At most ``MAX_MISSED`` points: "Missing: a; b; c (and 2 more)." """
    parts: list[str] = []
    story: list[str] = []
    for point in points:
        match = _STORY_LINE.match(point.strip())
        if match is None:
            parts.append(shorten(point, POINT_CHARS))
        else:
            story += [g.lower() for g in match.groups() if g and g.lower() not in story]
    if story:
        named = " and ".join([", ".join(story[:-1]), story[-1]] if len(story) > 1 else story)
        parts.append(f"a story whose {named} {'are' if len(story) > 1 else 'is'} as concrete as in the model answer")
    more = len(parts) - MAX_MISSED
    return lead + "; ".join(parts[:MAX_MISSED]) + (f" (and {more} more)" if more > 0 else "") + "."
