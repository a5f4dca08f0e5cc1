"""Rubrics for any question: a bank item's key points and red flags, or an answer card's sentences.

A question typed by a learner uses the bank item that means the same (cosine >= 0.8), else the
answer card that matches it confidently (its answer's sentences become the key points, its answer
the model answer). Nothing is ever built from note boilerplate: a question that matches neither
gets an honest "I can't grade that reliably", naming the closest question that can be graded.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

import numpy as np

from bot.study.answering.cards import CardIndex
from bot.study.banks import (
    Card,
    CardKind,
    InterviewKind,
    InterviewQuestion,
    Misconception,
    QuizItem,
    QuizType,
    card_sentences,
)
from bot.study.embedding import Embedder
from bot.study.errors import CannotGrade
from bot.study.grading.model import KnownMistake, Rubric

BANK_MATCH_THRESHOLD = 0.8  # a typed question this similar to a bank question is that item
# A card this confident is the question. It was 0.6 (stricter than answering, since a wrong rubric
# misleads); on grading set v5's typed questions, answers to the 25 questions matched between 0.5 and 0.6
# were graded as well as those matched above 0.6 (agreement 0.87 against 0.86; no confidently wrong one
# called correct in the 0.55-0.6 band, 2 of 16 below), and 0.5 grades 88% of those questions, not 60%.
CARD_MATCH_THRESHOLD = 0.5
# An interview follow-up this close to a card is that card's question and is graded on it. Over the
# bank's 306 follow-ups, 172 match a card at 0.6 or more, nearly all the same question ("Where exactly
# does gradient clipping go in the loop?" -> the card on where clipping goes); between 0.5 and 0.6 most
# matches ask about something else ("How would you extend it to more than two classes?" -> the card on
# adding classes to a trained model), so those follow-ups are graded on the main question's missed points.
FOLLOW_UP_CARD_THRESHOLD = 0.6
MIN_POINT_WORDS = 5

_ILLUSTRATION = re.compile(r"^(?:for example|for instance|e\.g\.)[,:]?\s", re.IGNORECASE)
_FIGURE = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?")

Titles = Callable[[str], str]  # note path in knowledge/ -> the note's title


class Rubrics:
    """Builds rubrics from the banks and the answer cards."""

    def __init__(
        self,
        embedder: Embedder,
        quiz: Sequence[QuizItem],
        interview: Sequence[InterviewQuestion],
        cards: CardIndex | None = None,
        titles: Titles | None = None,
        misconceptions: Sequence[Misconception] = (),
    ) -> None:
        self.embedder = embedder
        self.cards = cards
        self.mistakes: dict[str, list[KnownMistake]] = {}
        for m in misconceptions:
            self.mistakes.setdefault(m.topic, []).append(KnownMistake(m.wrong, m.right))
        self.titles = titles or (lambda note: note)
        # Only items answered in free text have key points to grade against.
        self.items: list[QuizItem | InterviewQuestion] = [*(i for i in quiz if i.type is QuizType.short), *interview]
        self.by_id = {i.id: i for i in self.items}
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def source(self, note: str, section: str) -> str:
        """Where to read, as a learner sees it: ``Note title > Section``."""
        return f"{self.titles(note)} > {section}"

    def item(self, item_id: str) -> QuizItem | InterviewQuestion:
        try:
            return self.by_id[item_id]
        except KeyError:
            raise CannotGrade(f"No free-text quiz or interview item has the id {item_id!r}.") from None

    def for_item(self, item: QuizItem | InterviewQuestion) -> Rubric:
        """A bank item's rubric. A behavioral question's model answer is an example in STAR form."""
        source = self.source(item.source.note, item.source.section)
        if isinstance(item, QuizItem):
            if item.type is not QuizType.short or not isinstance(item.answer, str):
                raise CannotGrade(f"Quiz item {item.id} is not answered in free text.")
            return Rubric(item.question, list(item.key_points), [], [source], item.answer, item.id,
                          self._mistakes(item.topic))  # fmt: skip
        model = None
        if item.kind is InterviewKind.behavioral:
            model = _star_lines(item.example_answer) if item.example_answer else self._star_example(item.question)
        return Rubric(item.question, list(item.key_points), list(item.red_flags), [source], model, item.id,
                      self._mistakes(item.topic))  # fmt: skip

    def for_card(self, card: Card, question: str | None = None) -> Rubric:
        """A card's answer as a rubric: each sentence a key point (short asides folded into the previous).
        For a question with numbers of its own that the card's example does not use, the sentences
        with the example's numbers are left out (see ``_other_figures``)."""
        points: list[str] = []
        sentences = card_sentences(card.answer)
        own = _figures(question) if question is not None else set()
        if _other_figures(own, card.answer):
            sentences = [s for s in sentences if _figures(s) <= own]
        if card.kind not in (CardKind.example, CardKind.behavioral):
            # "For example, with Q1 = 20 and Q3 = 40 ..." illustrates a point: an answer with its own
            # example, or none, has not missed anything.
            kept = [s for s in sentences if not _ILLUSTRATION.match(s)]
            sentences = kept if len(kept) >= 2 else sentences
        for sentence in sentences:
            if points and len(sentence.split()) < MIN_POINT_WORDS:
                points[-1] = f"{points[-1]} {sentence}"
            else:
                points.append(sentence)
        source = self.source(card.source.note, card.source.section)
        return Rubric(question or card.question, points[:5], [], [source], card.answer, card.id,
                      self._mistakes(card.topic))  # fmt: skip

    def for_follow_up(self, follow_up: str) -> Rubric | None:
        """The rubric of an interview follow-up: the card that asks the same question, or None (the
        follow-up then probes the main question's missed points and is graded on those)."""
        if self.cards is None or not len(self.cards):
            return None
        matches = self.cards.match(follow_up, k=1)
        if not matches or matches[0].score < FOLLOW_UP_CARD_THRESHOLD:
            return None
        rubric = self.for_card(matches[0].card, follow_up)
        return rubric if len(rubric.key_points) >= 2 else None

    def _mistakes(self, topic: str) -> list[KnownMistake]:
        return list(self.mistakes.get(topic, []))

    def _star_example(self, question: str) -> str | None:
        if self.cards is None:
            return None
        found = [m for m in self.cards.match(question, k=10) if m.card.kind is CardKind.behavioral]
        return found[0].card.answer if found else None

    def _bank(self) -> np.ndarray:
        with self._lock:
            if self._vectors is None:
                texts = [i.question for i in self.items]
                self._vectors = np.asarray(self.embedder.encode(texts), dtype=np.float32).reshape(len(texts), -1)
            return self._vectors

    def match_item(self, question: str) -> tuple[QuizItem | InterviewQuestion | None, float, str]:
        """The bank item whose question means the same (or None), the similarity, and the closest question."""
        if not self.items or not question.strip():
            return None, 0.0, ""
        vector = np.asarray(self.embedder.embed_query(question), dtype=np.float32)
        sims = self._bank() @ vector
        best = int(np.argmax(sims))
        score = float(sims[best])
        item = self.items[best]
        return (item if score >= BANK_MATCH_THRESHOLD else None), score, item.question

    def for_question(self, question: str) -> Rubric:
        """The rubric for a typed question; CannotGrade (naming the closest gradable question) if none."""
        item, item_score, closest = self.match_item(question)
        if item is not None:
            return self.for_item(item)
        best_card = None
        if self.cards is not None and len(self.cards):
            matches = self.cards.match(question, k=1)
            if matches:
                best_card = matches[0]
                if best_card.score >= CARD_MATCH_THRESHOLD:
                    rubric = self.for_card(best_card.card, question)
                    if len(rubric.key_points) >= 2:
                        return rubric
        if best_card is not None and best_card.cosine > item_score:
            closest = best_card.card.question
        hint = f" The closest question I can grade: “{closest}”" if closest else ""
        raise CannotGrade(f"I can't grade that question reliably: no rubric in the study notes matches it.{hint}")


def _figures(text: str) -> set[float]:
    """The numbers a text states, other than 0 and 1 ("1,000" and "1000" alike)."""
    found = {float(m.group(0).replace(",", "")) for m in _FIGURE.finditer(text)}
    return found - {0.0, 1.0}


def _other_figures(own: set[float], answer: str) -> bool:
    """The question brings its own numbers (two or more) and the card's answer works with others: at
    most half of the question's are in it. "TP=30, FP=10, FN=60, TN=900: what are precision and
    recall?" matched to a worked example with TP = 40 and FP = 20: that example's results are not
    this question's, and an answer that computes the right ones must not read as wrong numbers.
    ``own`` holds the question's numbers."""
    theirs = _figures(answer)
    return len(own) >= 2 and len(theirs) >= 2 and 2 * len(own & theirs) <= len(own)


def _star_lines(example: str) -> str:
    """A STAR example with each part (Situation, Task, Action, Result) on a line of its own."""
    return re.sub(r"\s+(Task|Action|Result):", r"\n\1:", example.strip())
