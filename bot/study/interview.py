"""Mock-interview sessions: questions from the interview bank, one follow-up, feedback and a scorecard.

An interview picks 3-7 questions from the bank (by area or topic, and level), asks them one at a
time, grades each answer with the rubric grader and, when key points are missing, asks at most one
follow-up per question; the question's result is then the union of what the answer and the
follow-up covered. At the end every participant gets a :class:`Scorecard`.

Group interviews gather participants in a lobby, then run in one of two modes: ``turns`` (question
*i* goes to participant *i mod n*) or ``same`` (everyone answers every question; feedback is held
back until the whole round is in, so nobody sees the model answer before answering). Every answer
window has a time limit; :meth:`InterviewService.expire` closes the windows that ran out.

Sessions are plain data saved after every step (``InterviewSession.to_dict``), so an interview
survives a restart of the bot and continues at the same question.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import random
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import zip_longest
from typing import Any

from pydantic import ValidationError

from bot.study.banks import InterviewQuestion, Level
from bot.study.errors import (
    AnswerTooLate,
    InvalidAnswer,
    InvalidSessionOptions,
    NoInterviewQuestions,
    NotSessionOwner,
    NotYourTurn,
    SessionAlreadyStarted,
    SessionFinished,
    SessionNotFound,
)
from bot.study.grading import Grade, Grader, Params, Verdict, red_flag_claim, score_for, verdict_for
from bot.study.grading.feedback import POINT_CHARS, careful, said_instead
from bot.study.grading.reading import gives_up, shorten
from bot.study.questions import CONTROL_CHARS
from bot.study.store import AttemptRecord, Store
from bot.study.store import assume_utc as _utc
from bot.study.store import now as _system_clock
from bot.study.text import capitalized, terms

log = logging.getLogger(__name__)

KIND = "interview"  # the session and attempt kind in the store
MIN_QUESTIONS = 3
MAX_QUESTIONS = 7
MAX_ANSWER_CHARS = 4000
MAX_PARTICIPANTS = 10
DEFAULT_TIME_LIMIT_S = 300.0
STATE_VERSION = 1
_LEVELS = [Level.junior, Level.mid, Level.senior]
# Zero-width and control characters (tabs and newlines stay: answers may have lines).


class SessionStatus(StrEnum):
    lobby = "lobby"  # a group interview waiting for participants
    active = "active"
    finished = "finished"
    abandoned = "abandoned"


class GroupMode(StrEnum):
    turns = "turns"  # question i goes to participant i mod n
    same = "same"  # everyone answers every question


class Outcome(StrEnum):
    """How a question's result came about."""

    answered = "answered"
    timeout = "timeout"
    skipped = "skipped"


def source_of(question: InterviewQuestion) -> str:
    """``note > Section``: where to read about a question, when no titled source is at hand."""
    return f"{question.source.note} > {question.source.section}"


def clean_answer(raw: str) -> str:
    """Normalise an answer; refuse an empty one (a stray Enter must not burn a question) or a huge one."""
    text = unicodedata.normalize("NFKC", raw or "").replace("\r\n", "\n").replace("\r", "\n")
    text = CONTROL_CHARS.sub(" ", text)
    text = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()
    if not text:
        raise InvalidAnswer("The answer is empty: type your answer in a few sentences, or skip the question.")
    if len(text) > MAX_ANSWER_CHARS:
        raise InvalidAnswer(
            f"The answer is {len(text):,} characters long; the limit is {MAX_ANSWER_CHARS:,}. "
            "Say it in fewer words: an interviewer wants the key points."
        )
    return text


def pick_follow_up(question: InterviewQuestion, missed: Sequence[str]) -> str:
    """The follow-up that shares the most content words with the missed key points (first on ties)."""
    wanted = set(terms(" ".join(missed)))
    ranked = sorted(enumerate(question.follow_ups), key=lambda p: (-len(set(terms(p[1])) & wanted), p[0]))
    return ranked[0][1]


def _shorten(text: str, limit: int = 90) -> str:
    text = text.strip().rstrip(".")
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


_HEAD = {Verdict.correct: "Correct", Verdict.partial: "Partly right", Verdict.incorrect: "Not yet"}
# The share of what the first answer missed that a fully right follow-up answer makes up: with a first
# answer at 0.5, a right follow-up brings the question to 0.75; with one at 0.25, to 0.625 (partial).
FOLLOW_UP_SHARE = 0.5


def combine_grades(question: InterviewQuestion, first: Grade, follow_up: Grade) -> Grade:
    """One result for an answer and a follow-up that probed its missed points: the union of the key points
    covered (and of the red flags stated and wrong claims made), scored the way the grader scores one
    answer. A wrong claim or red flag in either answer rules out "correct", as does a wrong first answer."""
    points, flags = question.key_points, question.red_flags
    covered = [p for p in points if p in first.covered or p in follow_up.covered]
    missed = [p for p in points if p not in covered]
    stated = [f for f in flags if f in first.red_flags or f in follow_up.red_flags]
    wrong = list({w.said: w for w in [*first.wrong, *follow_up.wrong]}.values())
    contradicted = [p for p in points if p in first.contradicted or p in follow_up.contradicted]
    raw = score_for(len(covered), len(points), len(wrong), len(stated))
    verdict, score = _capped(raw, first, bool(wrong or stated))
    parts = [f"{_HEAD[verdict]}: with the follow-up you covered {len(covered)} of {len(points)} key points."]
    parts += said_instead(wrong)
    parts += [careful(f) for f in stated]
    if missed:
        parts.append("Missing: " + "; ".join(shorten(m, POINT_CHARS) for m in missed[:3]) + ".")
    if missed or verdict is not Verdict.correct:
        parts.append(f"Read: {first.sources[0] if first.sources else source_of(question)}.")
    quotes = [*first.quotes, *(q for q in follow_up.quotes if q not in first.quotes)]
    return Grade(
        verdict, score, covered, missed, stated, " ".join(parts), first.model_answer, list(first.sources),
        wrong=wrong, quotes=quotes, contradicted=contradicted, judge=follow_up.judge,
    )  # fmt: skip


def with_follow_up(question: InterviewQuestion, first: Grade, follow_up: Grade) -> Grade:
    """One result for an answer and a follow-up graded on a rubric of its own (the card that asks it):
    the main question's points are the first answer's; a follow-up answer earns up to half of the score
    the first answer left on the table. A wrong claim in either rules out "correct", as does a first
    answer that was wrong."""
    wrong = list({w.said: w for w in [*first.wrong, *follow_up.wrong]}.values())
    stated = [*first.red_flags, *(f for f in follow_up.red_flags if f not in first.red_flags)]
    raw = first.score + FOLLOW_UP_SHARE * (1 - first.score) * follow_up.score
    verdict, score = _capped(raw, first, bool(wrong or stated))
    points = question.key_points
    how = {Verdict.correct: "right", Verdict.partial: "partly right", Verdict.incorrect: "not right yet"}
    parts = [
        f"{_HEAD[verdict]}: your answer covered {len(first.covered)} of {len(points)} key points, "
        f"and your follow-up answer was {how[follow_up.verdict]}."
    ]
    parts += said_instead(first.wrong)
    parts += [careful(f) for f in first.red_flags]
    if first.missed:
        parts.append("Missing: " + "; ".join(shorten(m, POINT_CHARS) for m in first.missed[:3]) + ".")
    if first.missed or verdict is not Verdict.correct:
        parts.append(f"Read: {first.sources[0] if first.sources else source_of(question)}.")
    return Grade(
        verdict, score, list(first.covered), list(first.missed), stated, " ".join(parts), first.model_answer,
        list(first.sources), wrong=wrong, quotes=list(first.quotes), contradicted=list(first.contradicted),
        judge=follow_up.judge,
    )  # fmt: skip


def _capped(score: float, first: Grade, wrong: bool) -> tuple[Verdict, float]:
    """The verdict for a combined score, never "correct" after a wrong claim or a wrong first answer."""
    verdict = verdict_for(score)
    if verdict is Verdict.correct and (wrong or first.verdict is Verdict.incorrect):
        verdict, score = Verdict.partial, min(score, Params().correct_at - 0.01)
    return verdict, score


def follow_up_feedback(first: Grade, follow_up: Grade) -> str:
    """What the follow-up answer itself did: the key points it added, what it got wrong."""
    added = [p for p in follow_up.covered if p not in first.covered]
    known = {w.said for w in first.wrong}
    wrong = [w for w in follow_up.wrong if w.said not in known]
    flags = [f for f in follow_up.red_flags if f not in first.red_flags]
    if added:
        parts = ["Your follow-up added: " + "; ".join(_shorten(p) for p in added[:3]) + "."]
    elif follow_up.covered:
        parts = ["Your follow-up repeated points you had already made; it added no new key point."]
    else:
        parts = ["Your follow-up did not add a key point."]
    parts += said_instead(wrong, "In it you said")
    parts += [careful(f, "it") for f in flags]
    return " ".join(parts)


# --- session data ---------------------------------------------------------------------------------


@dataclass
class Participant:
    user_id: str
    name: str = ""

    @property
    def display(self) -> str:
        return self.name or self.user_id


@dataclass
class Slot:
    """One participant's open answer window on the current question."""

    user_id: str
    deadline: datetime
    follow_up: str | None = None  # once asked, the window is for the follow-up
    first: dict[str, Any] | None = None  # the first answer's grade (Grade.to_dict) while a follow-up is open

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "deadline": self.deadline.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Slot:
        return cls(**{**data, "deadline": _utc(datetime.fromisoformat(data["deadline"]))})


@dataclass
class AnswerFeedback:
    """The final result of one participant on one question: what they covered, missed, and where to read."""

    session_id: str
    number: int  # 1-based position of the question in the interview
    question_id: str
    question: str
    topic: str
    user_id: str
    name: str
    verdict: Verdict
    score: float
    covered: list[str]
    missed: list[str]
    red_flags: list[str]
    feedback: str
    model_answer: str
    sources: list[str]
    outcome: Outcome = Outcome.answered
    follow_up: str | None = None  # the follow-up that was asked, if any
    answered_at: datetime = field(default_factory=_system_clock)
    follow_up_outcome: Outcome | None = None  # answered, skipped or timeout, once a follow-up was asked
    follow_up_feedback: str = ""  # what the follow-up answer itself added or got wrong

    @property
    def correct(self) -> bool:
        return self.verdict is Verdict.correct

    @property
    def follow_up_summary(self) -> str:
        """How the follow-up went, in words ("" when none was asked)."""
        if not self.follow_up or self.follow_up_outcome is None:
            return ""
        return {Outcome.skipped: "Skipped.", Outcome.timeout: "No answer in time."}.get(
            self.follow_up_outcome, self.follow_up_feedback
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "verdict": self.verdict.value,
            "score": round(self.score, 3),
            "outcome": self.outcome.value,
            "answered_at": self.answered_at.isoformat(),
            "follow_up_outcome": self.follow_up_outcome.value if self.follow_up_outcome else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerFeedback:
        """Also reads results stored before follow-ups had their own outcome."""
        values = dict(data)
        values["verdict"] = Verdict(values["verdict"])
        values["outcome"] = Outcome(values["outcome"])
        follow = values.get("follow_up_outcome")
        if follow is None and values.get("follow_up"):
            follow = Outcome.answered.value  # stored before: a follow-up that counted was answered
        values["follow_up_outcome"] = Outcome(follow) if follow else None
        values["answered_at"] = _utc(datetime.fromisoformat(values["answered_at"]))
        return cls(**values)


@dataclass(frozen=True)
class Prompt:
    """What should be answered now, and by whom."""

    session_id: str
    number: int  # 1-based
    total: int
    question_id: str
    question: str  # the main question
    text: str  # what to answer: the main question or its follow-up
    is_follow_up: bool
    user_ids: tuple[str, ...]  # who should answer
    names: tuple[str, ...]
    deadline: datetime | None
    area: str
    topic: str
    level: str
    kind: str

    def to_dict(self) -> dict[str, Any]:
        deadline = self.deadline.isoformat() if self.deadline else None
        return {**asdict(self), "user_ids": list(self.user_ids), "names": list(self.names), "deadline": deadline}


@dataclass(frozen=True)
class ScoreItem:
    number: int
    question_id: str
    question: str
    topic: str
    verdict: Verdict
    score: float
    outcome: Outcome
    follow_up_asked: bool
    follow_up_outcome: Outcome | None = None

    @property
    def follow_up_note(self) -> str:
        """How the follow-up went, for a scorecard line ("" when none was asked)."""
        if not self.follow_up_asked:
            return ""
        return {
            Outcome.skipped: " (follow-up skipped)",
            Outcome.timeout: " (follow-up: no answer in time)",
        }.get(self.follow_up_outcome or Outcome.answered, " (with a follow-up)")

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "verdict": self.verdict.value,
            "score": round(self.score, 3),
            "outcome": self.outcome.value,
            "follow_up_outcome": self.follow_up_outcome.value if self.follow_up_outcome else None,
        }


@dataclass
class Scorecard:
    """One participant's results: per-question scores, overall score, strengths, what to improve and read."""

    session_id: str
    user_id: str
    name: str
    status: SessionStatus
    items: list[ScoreItem]
    overall: float  # mean score of the questions in ``items`` (0 when none)
    strengths: list[str]
    to_improve: list[str]
    read_next: list[str]  # note#section, weakest questions first, deduplicated

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "status": self.status.value,
            "items": [i.to_dict() for i in self.items],
            "overall": round(self.overall, 3),
        }

    def summary_lines(self) -> list[str]:
        """The scorecard as plain text lines (no markup), for logs, tests and plain adapters."""
        ended = " (ended early)" if self.status is SessionStatus.abandoned else ""
        lines = [
            f"Scorecard for {self.name or self.user_id}{ended}: {self.overall:.0%} over {len(self.items)} question(s)"
        ]
        for item in self.items:
            extra = {Outcome.timeout: " (no answer in time)", Outcome.skipped: " (skipped)"}.get(item.outcome, "")
            lines.append(
                f"  Q{item.number} [{item.topic}] {item.verdict.value} {item.score:.0%}{item.follow_up_note}{extra}"
            )
        for title, entries, empty in (
            ("Strengths", self.strengths, "none yet"),
            ("To improve", self.to_improve, "nothing missed"),
            ("Read next", self.read_next, "nothing urgent"),
        ):
            lines.append(f"{title}:" + ("" if entries else f" {empty}"))
            lines.extend(f"  - {e}" for e in entries)
        return lines


@dataclass(frozen=True)
class WrapUp:
    """A group interview side by side: everyone's overall score, and the strongest answer per question."""

    standings: list[tuple[str, float]]  # (name, overall score), best first
    best: list[tuple[int, str, str, float]]  # (question number, topic, name, score) of the top answer
    compared: bool = True  # some question had several answers (not so when members take turns)


def group_wrap_up(session: InterviewSession) -> WrapUp | None:
    """The wrap-up of a group interview with at least two participants (None otherwise)."""
    if not session.group or len(session.participants) < 2:
        return None
    cards = session.scorecards()
    standings = sorted(((c.name or c.user_id, c.overall) for c in cards), key=lambda row: (-row[1], row[0]))
    best: list[tuple[int, str, str, float]] = []
    compared = False
    for number in sorted({r.number for r in session.results}):
        answered = [r for r in session.results if r.number == number and r.outcome is Outcome.answered]
        compared = compared or len(answered) > 1
        if answered:
            top = max(answered, key=lambda r: (r.score, -r.answered_at.timestamp()))
            best.append((number, top.topic, top.name or top.user_id, top.score))
    return WrapUp(standings, best, compared)


def build_scorecard(session: InterviewSession, participant: Participant) -> Scorecard:
    results = sorted((r for r in session.results if r.user_id == participant.user_id), key=lambda r: r.number)
    items = [
        ScoreItem(
            r.number,
            r.question_id,
            r.question,
            r.topic,
            r.verdict,
            r.score,
            r.outcome,
            r.follow_up is not None,
            r.follow_up_outcome,
        )
        for r in results
    ]
    overall = sum(r.score for r in results) / len(results) if results else 0.0
    # One format for every strength, whoever took the interview and however well: the question (by its
    # number: the card lists the questions by number and title), how much of it was covered, one point made.
    strengths = [
        f"Q{r.number}: {len(r.covered)} of {len(r.covered) + len(r.missed)} key points, "
        f"e.g. {_shorten(r.covered[0], 70)}"
        for r in sorted(results, key=lambda r: (-r.score, r.number))
        if r.covered
    ][:3]
    by_score = sorted(results, key=lambda r: (r.correct, r.score, r.number))  # weakest first
    weakest = [r for r in by_score if not r.correct]
    # Wrong claims first (they hurt most in an interview), then missed key points, weakest questions first.
    to_improve = [f'Q{r.number}: avoid the claim "{red_flag_claim(f)}"' for r in by_score for f in r.red_flags]
    missed = [[f"Q{r.number}: {_shorten(p)}" for p in r.missed] for r in by_score]
    to_improve += [line for rank in zip_longest(*missed) for line in rank if line]  # spread over the questions
    read_next = list(dict.fromkeys(s for r in weakest for s in r.sources))[:3]
    return Scorecard(
        session.id,
        participant.user_id,
        participant.name,
        session.status,
        items,
        overall,
        strengths,
        list(dict.fromkeys(to_improve))[:6],
        read_next,
    )


@dataclass
class InterviewSession:
    """The whole state of one interview: plain data, saved after every step."""

    id: str
    owner_id: str
    questions: list[InterviewQuestion]
    participants: list[Participant]
    group: bool = False
    mode: GroupMode = GroupMode.turns
    status: SessionStatus = SessionStatus.active
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    index: int = 0  # the current question
    slots: list[Slot] = field(default_factory=list)  # open answer windows on the current question
    results: list[AnswerFeedback] = field(default_factory=list)
    topic: str | None = None
    area: str | None = None
    level: str | None = None
    notice: str = ""  # e.g. that some questions come from neighbouring levels
    group_id: str | None = None
    channel_id: str | None = None
    created_at: datetime = field(default_factory=_system_clock)

    @property
    def total(self) -> int:
        return len(self.questions)

    @property
    def over(self) -> bool:
        return self.status in (SessionStatus.finished, SessionStatus.abandoned)

    @property
    def current_question(self) -> InterviewQuestion | None:
        if self.status is not SessionStatus.active or self.index >= self.total:
            return None
        return self.questions[self.index]

    def participant(self, user_id: str) -> Participant | None:
        return next((p for p in self.participants if p.user_id == user_id), None)

    def answerers(self, index: int) -> list[Participant]:
        """Who answers question ``index``: everyone in ``same`` mode, else the participant whose turn it is."""
        if self.mode is GroupMode.same:
            return list(self.participants)
        return [self.participants[index % len(self.participants)]]

    def slot_for(self, user_id: str) -> Slot | None:
        return next((s for s in self.slots if s.user_id == user_id), None)

    def next_deadline(self) -> datetime | None:
        """When the next open answer window closes (for the adapter's timer)."""
        return min((s.deadline for s in self.slots), default=None)

    def current_prompt(self, user_id: str | None = None) -> Prompt | None:
        """What to answer now: for ``user_id`` (their question or follow-up), or for the session as a whole
        (the main question and everyone still to answer it; a follow-up when it is one person's turn)."""
        question = self.current_question
        if question is None:
            return None
        slots = [s for s in self.slots if user_id is None or s.user_id == user_id]
        if not slots:
            return None
        follow_up = slots[0].follow_up if len(slots) == 1 else None
        names = tuple((p.display if (p := self.participant(s.user_id)) else s.user_id) for s in slots)
        return Prompt(
            self.id,
            self.index + 1,
            self.total,
            question.id,
            question.question,
            follow_up or question.question,
            follow_up is not None,
            tuple(s.user_id for s in slots),
            names,
            min(s.deadline for s in slots),
            question.area,
            question.topic,
            question.level.value,
            question.kind.value,
        )

    def scorecards(self) -> list[Scorecard]:
        """One scorecard per participant, over the questions they have a result for."""
        return [build_scorecard(self, p) for p in self.participants]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "id": self.id,
            "owner_id": self.owner_id,
            "questions": [q.model_dump(mode="json") for q in self.questions],
            "participants": [{"user_id": p.user_id, "name": p.name} for p in self.participants],
            "group": self.group,
            "mode": self.mode.value,
            "status": self.status.value,
            "time_limit_s": self.time_limit_s,
            "index": self.index,
            "slots": [s.to_dict() for s in self.slots],
            "results": [r.to_dict() for r in self.results],
            "topic": self.topic,
            "area": self.area,
            "level": self.level,
            "notice": self.notice,
            "group_id": self.group_id,
            "channel_id": self.channel_id,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InterviewSession:
        """Rebuild a session saved by :meth:`to_dict`; :class:`SessionNotFound` if the state is unreadable."""
        try:
            return cls(
                id=data["id"],
                owner_id=data["owner_id"],
                questions=[InterviewQuestion.model_validate(q) for q in data["questions"]],
                participants=[Participant(p["user_id"], p.get("name", "")) for p in data["participants"]],
                group=bool(data["group"]),
                mode=GroupMode(data["mode"]),
                status=SessionStatus(data["status"]),
                time_limit_s=float(data["time_limit_s"]),
                index=int(data["index"]),
                slots=[Slot.from_dict(s) for s in data["slots"]],
                results=[AnswerFeedback.from_dict(r) for r in data["results"]],
                topic=data.get("topic"),
                area=data.get("area"),
                level=data.get("level"),
                notice=data.get("notice", ""),
                group_id=data.get("group_id"),
                channel_id=data.get("channel_id"),
                created_at=_utc(datetime.fromisoformat(data["created_at"])),
            )
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            raise SessionNotFound("That interview's saved state cannot be read: start a new one.") from exc


@dataclass
class InterviewStep:
    """What one action produced.

    ``feedback`` is the answering participant's result when it is released now: at once in solo and
    ``turns`` mode, at the end of the round in ``same`` mode (None while waiting for others, and None
    when a follow-up is asked, so the feedback does not give the follow-up away). ``released`` holds
    every result this step released (a whole round, or the windows that expired).
    """

    session: InterviewSession
    feedback: AnswerFeedback | None = None
    released: list[AnswerFeedback] = field(default_factory=list)
    follow_up: Prompt | None = None  # the follow-up asked to the participant who just answered
    prompt: Prompt | None = None  # what comes next (None once the interview is over)
    waiting_for: list[str] = field(default_factory=list)  # same mode: who still has to answer
    scorecards: list[Scorecard] = field(default_factory=list)  # once the interview is over

    @property
    def finished(self) -> bool:
        return self.session.over


# --- choosing questions ---------------------------------------------------------------------------


def _level(value: str | None) -> Level | None:
    if value is None or not value.strip():
        return None
    try:
        return Level(value.strip().lower())
    except ValueError:
        raise InvalidSessionOptions(f"Unknown level {value!r}: use junior, mid or senior.") from None


def select_questions(
    bank: Sequence[InterviewQuestion],
    rng: random.Random,
    *,
    count: int,
    topic: str | None = None,
    area: str | None = None,
    level: str | None = None,
) -> tuple[list[InterviewQuestion], str]:
    """``count`` distinct questions for the filters, and a notice when some had to come from further away.

    The exact level comes first, then neighbouring levels; with a topic that has too few questions,
    the rest come from the topic's area. Within each tier the pick spreads over kinds (conceptual,
    practical, system design, behavioural) and topics. The questions are then ordered junior to senior.
    """
    if not MIN_QUESTIONS <= count <= MAX_QUESTIONS:
        raise InvalidSessionOptions(f"An interview has between {MIN_QUESTIONS} and {MAX_QUESTIONS} questions.")
    wanted = _level(level)
    topic = topic.strip().lower() if topic and topic.strip() else None
    area = area.strip().lower() if area and area.strip() else None
    _check_known(bank, "topic", topic)
    _check_known(bank, "area", area)
    scope = [q for q in bank if (area is None or q.area == area) and (topic is None or q.topic == topic)]
    if not scope:
        raise NoInterviewQuestions(f"No interview questions are about topic {topic!r} in area {area!r}.")

    def by_level(pool: list[InterviewQuestion]) -> list[list[InterviewQuestion]]:
        if wanted is None:
            return [pool]
        rank = _LEVELS.index(wanted)
        return [[q for q in pool if abs(_LEVELS.index(q.level) - rank) == d] for d in (0, 1, 2)]

    tiers = by_level(scope)
    if topic is not None:
        areas = {q.area for q in scope}
        tiers += by_level([q for q in bank if q.area in areas and q.topic != topic])
    picked: list[InterviewQuestion] = []
    for tier in tiers:
        candidates = rng.sample(tier, len(tier))
        while candidates and len(picked) < count:
            kinds = [q.kind for q in picked]
            topics = [q.topic for q in picked]
            best = min(candidates, key=lambda q: (kinds.count(q.kind), topics.count(q.topic)))
            candidates.remove(best)
            picked.append(best)
    if len(picked) < count:
        raise NoInterviewQuestions(
            f"Only {len(picked)} interview questions match those filters; ask for {MIN_QUESTIONS}-{len(picked)} "
            "questions or widen the filters."
            if len(picked) >= MIN_QUESTIONS
            else f"Only {len(picked)} interview questions match those filters: widen them (another topic or area)."
        )
    notices = []
    if wanted is not None and any(q.level is not wanted for q in picked):
        notices.append(f"not enough {wanted.value} questions, so some are at a neighbouring level")
    if topic is not None and any(q.topic != topic for q in picked):
        notices.append(
            f"only {sum(q.topic == topic for q in picked)} questions are on {topic}, so the rest come "
            f"from the same area"
        )
    picked.sort(key=lambda q: _LEVELS.index(q.level))
    return picked, ("; ".join(notices).capitalize() + ".") if notices else ""


def _check_known(bank: Sequence[InterviewQuestion], what: str, value: str | None) -> None:
    if value is None:
        return
    known = sorted({getattr(q, what) for q in bank})
    if value not in known:
        close = difflib.get_close_matches(value, known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else f" Known {what}s: {', '.join(known[:12])}..."
        raise NoInterviewQuestions(f"No interview questions have the {what} {value!r}.{hint}")


# --- the service ----------------------------------------------------------------------------------


class InterviewService:
    """Runs mock interviews over the store and the grader. Adapters (terminal, chat, Discord) call it.

    Every action loads the session from the store, changes it under a per-session lock and saves it,
    so concurrent answers in a group interview never overwrite each other, and a new service over the
    same database (after a restart) continues where the old one stopped.
    """

    def __init__(
        self,
        store: Store,
        grader: Grader,
        questions: list[InterviewQuestion],
        *,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        seed: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if time_limit_s <= 0:
            raise InvalidSessionOptions("The time limit per answer must be positive.")
        self.store = store
        self.grader = grader
        self.questions = list(questions)
        self.time_limit_s = time_limit_s
        self._random = random.Random(seed)
        self._clock = clock or _system_clock
        self._locks: dict[str, asyncio.Lock] = {}

    def _now(self) -> datetime:
        return _utc(self._clock())

    def _lock(self, session_id: str) -> asyncio.Lock:
        return self._locks.setdefault(session_id, asyncio.Lock())

    # lifecycle

    def check_options(
        self, *, topic: str | None = None, area: str | None = None, level: str | None = None, questions: int = 5,
        mode: str = "turns",
    ) -> None:  # fmt: skip
        """Raise the error ``start`` would raise for these options, before anything is created for them."""
        if mode.strip().lower() not in {m.value for m in GroupMode}:
            raise InvalidSessionOptions(f"Unknown mode {mode!r}: use turns or same.")
        select_questions(self.questions, random.Random(0), count=questions, topic=topic, area=area, level=level)

    async def start(
        self,
        owner_id: str,
        owner_name: str = "",
        *,
        topic: str | None = None,
        area: str | None = None,
        level: str | None = None,
        questions: int = 5,
        group: bool = False,
        mode: str = "turns",
        group_id: str | None = None,
        channel_id: str | None = None,
    ) -> InterviewSession:
        """Pick the questions and open the interview: at once when solo, in a lobby for a group."""
        try:
            group_mode = GroupMode(mode.strip().lower()) if group else GroupMode.turns
        except ValueError:
            raise InvalidSessionOptions(f"Unknown mode {mode!r}: use turns or same.") from None
        picked, notice = select_questions(
            self.questions, self._random, count=questions, topic=topic, area=area, level=level
        )
        await self.store.ensure_user(owner_id, owner_name, group_id)
        session = InterviewSession(
            id=uuid.uuid4().hex,
            owner_id=owner_id,
            questions=picked,
            participants=[Participant(owner_id, owner_name)],
            group=group,
            mode=group_mode,
            status=SessionStatus.lobby if group else SessionStatus.active,
            time_limit_s=self.time_limit_s,
            topic=topic.strip().lower() if topic and topic.strip() else None,
            area=area.strip().lower() if area and area.strip() else None,
            level=wanted.value if (wanted := _level(level)) else None,
            notice=notice,
            group_id=group_id,
            channel_id=channel_id,
            created_at=self._now(),
        )
        if not group:
            self._open_round(session, self._now())
        await self._save(session)
        log.info("interview %s started (%d questions, group=%s)", session.id, session.total, group)
        return session

    async def join(self, session_id: str, user_id: str, name: str = "") -> InterviewSession:
        """Add a participant to a group interview's lobby (joining twice is harmless)."""
        async with self._lock(session_id):
            session = await self.load(session_id)
            if session.over:
                raise SessionFinished("This interview is over: start a new one.")
            if not session.group:
                raise SessionAlreadyStarted("This is a solo interview: start your own.")
            if session.participant(user_id):
                return session
            if session.status is not SessionStatus.lobby:
                raise SessionAlreadyStarted("This interview has already started: join the next one.")
            if len(session.participants) >= MAX_PARTICIPANTS:
                raise InvalidSessionOptions(f"This interview is full ({MAX_PARTICIPANTS} participants).")
            await self.store.ensure_user(user_id, name, session.group_id)
            session.participants.append(Participant(user_id, name))
            await self._save(session)
            return session

    async def begin(self, session_id: str, user_id: str) -> InterviewSession:
        """The owner starts a group interview that is waiting in its lobby."""
        async with self._lock(session_id):
            session = await self.load(session_id)
            if user_id != session.owner_id:
                raise NotSessionOwner("Only the person who opened this interview can start it.")
            if session.over:
                raise SessionFinished("This interview is over: start a new one.")
            if session.status is not SessionStatus.lobby:
                raise SessionAlreadyStarted("This interview has already started.")
            if session.mode is GroupMode.turns and len(session.participants) > session.total:
                raise InvalidSessionOptions(
                    f"{len(session.participants)} people joined but there are only {session.total} questions: "
                    "in turns mode everyone needs a question. End this one and start it with more questions, "
                    "or in same mode."
                )
            session.status = SessionStatus.active
            self._open_round(session, self._now())
            await self._save(session)
            return session

    async def end(self, session_id: str, user_id: str) -> list[Scorecard]:
        """The owner ends the interview early: it is saved as abandoned, with scorecards for what was answered."""
        async with self._lock(session_id):
            session = await self.load(session_id)
            if user_id != session.owner_id:
                raise NotSessionOwner("Only the person who opened this interview can end it.")
            if session.over:
                raise SessionFinished("This interview is already over.")
            now = self._now()
            for slot in list(session.slots):
                if slot.first is not None:  # the first answer was graded: it counts without its follow-up
                    grade = Grade.from_dict(slot.first)
                    grade.feedback = f"The interview ended before the follow-up was answered. {grade.feedback}"
                    result = self._result(
                        session, slot.user_id, grade, Outcome.answered, now, slot.follow_up, Outcome.skipped
                    )
                    session.results.append(result)
                    await self._record(session, result)
            session.slots = []
            session.status = SessionStatus.abandoned
            await self._save(session)
            return session.scorecards()

    async def resume(self, session_id: str, user_id: str) -> InterviewSession:
        """Carry on with a solo interview the owner left (the terminal saves one on Ctrl-C): the open
        question, or its follow-up, gets a whole answer window again, since time away is no answer time."""
        async with self._lock(session_id):
            session = await self.load(session_id)
            if user_id != session.owner_id:
                raise NotSessionOwner("Only the person who opened this interview can carry on with it.")
            if session.over:
                raise SessionFinished("This interview is over: start a new one.")
            if session.group:
                raise InvalidSessionOptions("A group interview runs on its own clock: it cannot be resumed.")
            deadline = self._now() + timedelta(seconds=session.time_limit_s)
            for slot in session.slots:
                slot.deadline = deadline
            await self._save(session)
            return session

    # answering

    async def answer(self, session_id: str, user_id: str, text: str) -> InterviewStep:
        """Grade an answer to the participant's current question or follow-up, then move on."""
        async with self._lock(session_id):
            session = await self.load(session_id)
            slot = self._open_slot(session, user_id)
            now = self._now()
            if now >= slot.deadline:
                counted = "your first answer counts" if slot.first is not None else "it was recorded as unanswered"
                await self._expire(session, now)
                await self._save(session)
                raise AnswerTooLate(
                    f"Time ran out for that answer (the limit is {session.time_limit_s / 60:g} min): {counted} "
                    "and the interview moved on."
                )
            answer = clean_answer(text)
            question = session.questions[session.index]
            main = self.grader.rubric_for_item(question)
            if slot.first is None or slot.follow_up is None:
                grade = await self.grader.agrade(main, answer)
                if slot.follow_up is None and grade.verdict is not Verdict.correct and grade.missed:
                    slot.follow_up = pick_follow_up(question, grade.missed)
                    slot.first = grade.to_dict()
                    slot.deadline = now + timedelta(seconds=session.time_limit_s)
                    await self._save(session)
                    prompt = session.current_prompt(user_id)
                    return InterviewStep(session, follow_up=prompt, prompt=prompt)
                result = self._result(session, user_id, grade, Outcome.answered, now)
            elif gives_up(answer):  # "No idea." to a follow-up is a skip: the first answer counts
                result = self._first_counts(session, user_id, slot, now, "Follow-up not answered")
            else:
                first = Grade.from_dict(slot.first)
                own = await self.grader.arubric_for_follow_up(slot.follow_up)
                if own is None:  # the follow-up probes the main question's missed points
                    grade = await self.grader.agrade(main, answer)
                    combined, said = combine_grades(question, first, grade), follow_up_feedback(first, grade)
                else:
                    # Where to read is named once: the follow-up's card often cites the main question's section.
                    own = replace(own, sources=[s for s in own.sources if s not in first.sources])
                    grade = await self.grader.agrade(own, answer)
                    combined, said = with_follow_up(question, first, grade), grade.feedback
                result = self._result(
                    session, user_id, combined, Outcome.answered, now, slot.follow_up, Outcome.answered, said
                )
            return await self._close(session, slot, result, now)

    async def skip(self, session_id: str, user_id: str) -> InterviewStep:
        """Give up on the current question (or its follow-up): recorded as unanswered (or as the first answer)."""
        async with self._lock(session_id):
            session = await self.load(session_id)
            slot = self._open_slot(session, user_id)
            now = self._now()
            if slot.first is not None:
                result = self._first_counts(session, user_id, slot, now, "Follow-up skipped")
            else:
                result = self._unanswered(session, user_id, Outcome.skipped, now)
            return await self._close(session, slot, result, now)

    def _first_counts(
        self, session: InterviewSession, user_id: str, slot: Slot, now: datetime, lead: str
    ) -> AnswerFeedback:
        """The result when a follow-up goes unanswered: the first answer's grade, the follow-up skipped."""
        assert slot.first is not None
        grade = Grade.from_dict(slot.first)
        grade.feedback = f"{lead}: your first answer counts. {grade.feedback}"
        return self._result(session, user_id, grade, Outcome.answered, now, slot.follow_up, Outcome.skipped)

    def is_due(self, session: InterviewSession) -> bool:
        """Whether an answer window of this (loaded) session has run out: only then is ``expire`` needed."""
        deadline = session.next_deadline()
        return deadline is not None and deadline <= self._now()

    async def expire(self, session_id: str, now: datetime | None = None) -> InterviewStep | None:
        """Close every answer window that ran out by ``now``; None when none had.

        An expired answer is recorded as unanswered (an expired follow-up keeps the first answer's result)
        and the interview moves on. The Discord layer calls this from a timer; tests pass ``now``.
        """
        async with self._lock(session_id):
            session = await self.load(session_id)
            if session.status is not SessionStatus.active:
                return None
            at = _utc(now) if now is not None else self._now()
            released = await self._expire(session, at)
            if released is None:
                return None
            await self._save(session)
            return InterviewStep(
                session,
                released=released,
                prompt=session.current_prompt(),
                waiting_for=[s.user_id for s in session.slots] if session.mode is GroupMode.same else [],
                scorecards=session.scorecards() if session.over else [],
            )

    # queries

    async def load(self, session_id: str) -> InterviewSession:
        """The session as last saved; :class:`SessionNotFound` when there is none."""
        record = await self.store.load_session(session_id)
        if record is None or record.kind != KIND:
            raise SessionNotFound("That interview no longer exists: start a new one.")
        return InterviewSession.from_dict(record.state)

    async def active_for(self, user_id: str | None = None, channel_id: str | None = None) -> list[InterviewSession]:
        """Interviews in their lobby or in progress: those ``user_id`` takes part in, in ``channel_id``."""
        records = await self.store.sessions(kind=KIND, status="active", channel_id=channel_id)
        sessions = []
        for record in records:
            try:
                session = InterviewSession.from_dict(record.state)
            except SessionNotFound:
                log.warning("interview %s has an unreadable state; skipped", record.id)
                continue
            if user_id is None or session.participant(user_id):
                sessions.append(session)
        return sessions

    # internals

    def _open_slot(self, session: InterviewSession, user_id: str) -> Slot:
        if session.over:
            raise SessionFinished("This interview is over: start a new one.")
        if session.status is SessionStatus.lobby:
            raise NotYourTurn("This interview has not started yet: the person who opened it starts it.")
        slot = session.slot_for(user_id)
        if slot is not None:
            return slot
        if session.participant(user_id) is None:
            raise NotYourTurn("You are not part of this interview.")
        waiting = [p.display if (p := session.participant(s.user_id)) else s.user_id for s in session.slots]
        if session.mode is GroupMode.same:
            raise NotYourTurn(f"You already answered this question; waiting for {', '.join(waiting)}.")
        raise NotYourTurn(f"It is {', '.join(waiting)}'s turn to answer.")

    def _open_round(self, session: InterviewSession, now: datetime) -> None:
        deadline = now + timedelta(seconds=session.time_limit_s)
        session.slots = [Slot(p.user_id, deadline) for p in session.answerers(session.index)]

    def _result(
        self,
        session: InterviewSession,
        user_id: str,
        grade: Grade,
        outcome: Outcome,
        now: datetime,
        follow_up: str | None = None,
        follow_up_outcome: Outcome | None = None,
        follow_up_feedback: str = "",
    ) -> AnswerFeedback:
        question = session.questions[session.index]
        participant = session.participant(user_id)
        return AnswerFeedback(
            session_id=session.id,
            number=session.index + 1,
            question_id=question.id,
            question=question.question,
            topic=question.topic,
            user_id=user_id,
            name=participant.name if participant else "",
            verdict=grade.verdict,
            score=grade.score,
            covered=list(grade.covered),
            missed=list(grade.missed),
            red_flags=list(grade.red_flags),
            feedback=grade.feedback,
            model_answer=grade.model_answer or " ".join(question.key_points),
            sources=list(grade.sources) or [source_of(question)],
            outcome=outcome,
            follow_up=follow_up,
            answered_at=now,
            follow_up_outcome=follow_up_outcome,
            follow_up_feedback=follow_up_feedback,
        )

    def _unanswered(self, session: InterviewSession, user_id: str, outcome: Outcome, now: datetime) -> AnswerFeedback:
        question = session.questions[session.index]
        why = "no answer in time" if outcome is Outcome.timeout else "skipped"
        sources = self.grader.rubric_for_item(question).sources or [source_of(question)]
        feedback = f"{capitalized(why)}. Read: {sources[0]}."
        grade = Grade(Verdict.incorrect, 0.0, [], list(question.key_points), [], feedback, "", sources)
        return self._result(session, user_id, grade, outcome, now)

    async def _close(
        self, session: InterviewSession, slot: Slot, result: AnswerFeedback, now: datetime
    ) -> InterviewStep:
        """Record a participant's final result on the current question and move on when the round is in."""
        session.slots.remove(slot)
        session.results.append(result)
        if result.outcome is Outcome.answered:
            await self._record(session, result)
        released = self._advance_if_done(session, now)
        await self._save(session)
        mine = next((r for r in released if r.user_id == result.user_id and r.number == result.number), None)
        return InterviewStep(
            session,
            feedback=mine,
            released=released,
            prompt=session.current_prompt(result.user_id) or session.current_prompt(),
            waiting_for=[s.user_id for s in session.slots] if session.mode is GroupMode.same else [],
            scorecards=session.scorecards() if session.over else [],
        )

    async def _expire(self, session: InterviewSession, now: datetime) -> list[AnswerFeedback] | None:
        expired = [s for s in session.slots if s.deadline <= now]
        if not expired:
            return None
        for slot in expired:
            if slot.first is not None:
                grade = Grade.from_dict(slot.first)
                grade.feedback = f"No follow-up answer in time; your first answer counts. {grade.feedback}"
                result = self._result(
                    session, slot.user_id, grade, Outcome.answered, now, slot.follow_up, Outcome.timeout
                )
                await self._record(session, result)
            else:
                result = self._unanswered(session, slot.user_id, Outcome.timeout, now)
            session.slots.remove(slot)
            session.results.append(result)
        return self._advance_if_done(session, now)

    def _advance_if_done(self, session: InterviewSession, now: datetime) -> list[AnswerFeedback]:
        """When nobody still owes an answer: release the round's results and open the next question."""
        if session.slots:
            return []
        number = session.index + 1
        released = [r for r in session.results if r.number == number]
        session.index += 1
        if session.index >= session.total:
            session.status = SessionStatus.finished
            log.info("interview %s finished", session.id)
        else:
            self._open_round(session, now)
        return released

    async def _record(self, session: InterviewSession, result: AnswerFeedback) -> None:
        """Store a graded answer as an attempt (unanswered questions are not graded answers)."""
        question = session.questions[result.number - 1]
        await self.store.record_attempt(
            AttemptRecord(
                result.user_id,
                question.id,
                KIND,
                question.area,
                question.topic,
                result.score,
                result.correct,
                result.answered_at,
                session.group_id,
                session.id,
            )
        )

    async def _save(self, session: InterviewSession) -> None:
        status = session.status.value if session.over else "active"
        await self.store.save_session(
            session.id,
            KIND,
            session.owner_id,
            state=session.to_dict(),
            status=status,
            group_id=session.group_id,
            channel_id=session.channel_id,
        )


__all__ = [
    "AnswerFeedback",
    "GroupMode",
    "InterviewService",
    "InterviewSession",
    "InterviewStep",
    "Outcome",
    "Participant",
    "Prompt",
    "ScoreItem",
    "Scorecard",
    "SessionStatus",
    "clean_answer",
    "combine_grades",
    "follow_up_feedback",
    "pick_follow_up",
    "select_questions",
    "with_follow_up",
]
