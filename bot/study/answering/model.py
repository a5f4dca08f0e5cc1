"""What an answer is: its text, numbered citations, related questions and the subject it was about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.study.retrieval import Passage

DONT_KNOW = "I can't answer that from the study notes, so I won't guess."


@dataclass(frozen=True)
class Citation:
    n: int
    passage: Passage

    def to_dict(self) -> dict[str, object]:
        return {"n": self.n, **self.passage.to_dict()}


@dataclass(frozen=True)
class RelatedQuestion:
    """A question the learner might ask next: an answer card's id and its question."""

    card_id: str
    question: str

    def to_dict(self) -> dict[str, str]:
        return {"card": self.card_id, "question": self.question}


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    grounded: bool = True  # False for "I don't know"
    composer: str = "card"  # card | section | llm (how the text was made)
    notice: str | None = None  # e.g. why the LLM answer was replaced by the offline one
    closest_topics: list[str] = field(default_factory=list)
    related: list[RelatedQuestion] = field(default_factory=list)
    subject: str = ""  # what the answer was about: a follow-up question without one of its own uses it
    card_id: str | None = None  # the answer card the text comes from, if any
    searched: str = ""  # the question as searched (a follow-up gets its previous subject)
    # A card that matched with only moderate confidence: its question, shown above the answer so the
    # learner sees which question is being answered when it is a neighbour of theirs.
    closest: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answer": self.text,
            "sources": [c.to_dict() for c in self.citations],
            "grounded": self.grounded,
            "composer": self.composer,
            "related": [r.to_dict() for r in self.related],
            **({"card": self.card_id} if self.card_id else {}),
            **({"searched": self.searched} if self.searched and self.searched != self.question else {}),
            **({"notice": self.notice} if self.notice else {}),
            **({"closest": self.closest} if self.closest else {}),
        }


def dont_know(question: str, close: Sequence[Passage]) -> Answer:
    """The honest answer when nothing relevant was found, naming the topics that are close."""
    topics: list[str] = []
    for p in close:
        name = p.title or p.source
        if name and name not in topics:
            topics.append(name)
    topics = topics[:3]
    text = DONT_KNOW
    if topics:
        text += " The closest topics I do cover: " + "; ".join(topics) + ". Try asking about one of those."
    return Answer(question, text, [], grounded=False, composer="none", closest_topics=topics)
