"""Rubrics and grades."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    correct = "correct"
    partial = "partial"
    incorrect = "incorrect"


@dataclass(frozen=True)
class KnownMistake:
    """A confident wrong belief about the rubric's topic, and what is true instead."""

    said: str
    correction: str


@dataclass(frozen=True)
class Rubric:
    """What a good answer to ``question`` covers, and the wrong claims it must not make."""

    question: str
    key_points: list[str]  # full sentences a good answer covers
    red_flags: list[str] = field(default_factory=list)  # wrong claims ("Claims accuracy is always ...")
    sources: list[str] = field(default_factory=list)  # "Note title > Section": where to read
    model_answer: str | None = None
    item_id: str | None = None  # the bank item's or card's id
    mistakes: list[KnownMistake] = field(default_factory=list)  # the topic's known misconceptions


@dataclass(frozen=True)
class WrongClaim:
    """A claim of the answer that says the opposite of a key point, and the key point."""

    said: str
    correction: str

    def to_dict(self) -> dict[str, str]:
        return {"said": self.said, "correction": self.correction}


@dataclass
class Grade:
    """The result of grading one answer against one rubric."""

    verdict: Verdict
    score: float  # 0..1
    covered: list[str]  # key points covered
    missed: list[str]  # key points neither covered nor contradicted
    red_flags: list[str]  # red flags the answer states
    feedback: str  # short: what was right, what was wrong (with the correction), what is missing
    model_answer: str
    sources: list[str]
    wrong: list[WrongClaim] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)  # per covered point, the answer's words that covered it
    contradicted: list[str] = field(default_factory=list)  # key points the answer said the opposite of
    judge: str = "offline"  # offline | llm
    notice: str | None = None  # e.g. why the LLM judge's verdict was not used

    def to_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "score": round(self.score, 3),
            "covered": list(self.covered),
            "missed": list(self.missed),
            "red_flags": list(self.red_flags),
            "wrong": [w.to_dict() for w in self.wrong],
            "quotes": list(self.quotes),
            "contradicted": list(self.contradicted),
            "feedback": self.feedback,
            "model_answer": self.model_answer,
            "sources": list(self.sources),
            "judge": self.judge,
            **({"notice": self.notice} if self.notice else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Grade:
        """Also reads grades stored before wrong claims and judges existed."""
        return cls(
            Verdict(data["verdict"]),
            float(data["score"]),
            list(data["covered"]),
            list(data["missed"]),
            list(data["red_flags"]),
            str(data["feedback"]),
            str(data["model_answer"]),
            list(data["sources"]),
            wrong=[WrongClaim(str(w["said"]), str(w["correction"])) for w in data.get("wrong", [])],
            quotes=list(data.get("quotes", [])),
            contradicted=list(data.get("contradicted", [])),
            judge=str(data.get("judge", "offline")),
            notice=data.get("notice"),
        )
