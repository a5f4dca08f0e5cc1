"""Grading free-text answers: claims matched by what they say, wrong claims caught, rubrics for any
question, an LLM judge when one is configured.

- ``reading``: an answer cut into claims; what is not an answer set aside;
- ``claims``: does a claim state a key point or contradict it (words, roles, direction, stance,
  numbers, counterfactuals);
- ``grader``: the offline grader (``analyse`` then ``decide``) and its tuned ``Params``;
- ``rubrics``: rubrics from the banks and the answer cards, each with its topic's known misconceptions
  (``knowledge/misconceptions/``), which a claim may state and be corrected for;
- ``judge``: the LLM judge, validated against the rubric and the answer;
- ``feedback``: what the learner reads.

``Grader`` puts them together for the rest of the core.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.study.answering.cards import CardIndex
from bot.study.banks import Card, InterviewQuestion, Misconception, QuizItem
from bot.study.embedding import Embedder
from bot.study.grading.claims import TermWeights
from bot.study.grading.grader import FEATURES, OfflineGrader, Params, score_for, verdict_for
from bot.study.grading.model import Grade, KnownMistake, Rubric, Verdict, WrongClaim
from bot.study.grading.reading import MAX_ANSWER_CHARS, red_flag_claim
from bot.study.grading.rubrics import Rubrics, Titles
from bot.study.grading.scorer import Scorer

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from bot.study.grading.judge import LLMJudge

log = logging.getLogger(__name__)

__all__ = [
    "MAX_ANSWER_CHARS",
    "Grade",
    "Grader",
    "KnownMistake",
    "Params",
    "Rubric",
    "Verdict",
    "WrongClaim",
    "red_flag_claim",
    "score_for",
    "verdict_for",
]


class Grader:
    """Rubrics for bank items, cards and typed questions; grading offline or by an LLM judge."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        quiz: Sequence[QuizItem],
        interview: Sequence[InterviewQuestion],
        cards: CardIndex | None = None,
        titles: Titles | None = None,
        llm: BaseChatModel | None = None,
        llm_timeout: float = 30,
        params: Params | None = None,
        misconceptions: Sequence[Misconception] = (),
    ) -> None:
        self.rubrics = Rubrics(embedder, quiz, interview, cards, titles, misconceptions)
        texts = [p for i in self.rubrics.items for p in i.key_points]
        texts += [c.answer for c in (cards.cards if cards is not None else [])]
        self.offline = OfflineGrader(embedder, TermWeights(texts), params, Scorer.load(features=FEATURES))
        self.judge: LLMJudge | None = None
        if llm is not None:  # LangChain's prompt and parser classes load only when an LLM is configured
            from bot.study.grading.judge import LLMJudge

            self.judge = LLMJudge(llm)
        self.llm_timeout = llm_timeout

    # rubrics

    def item(self, item_id: str) -> QuizItem | InterviewQuestion:
        return self.rubrics.item(item_id)

    def rubric_for_item(self, item: QuizItem | InterviewQuestion) -> Rubric:
        return self.rubrics.for_item(item)

    def rubric_for_card(self, card: Card) -> Rubric:
        return self.rubrics.for_card(card)

    def rubric_for_question(self, question: str) -> Rubric:
        """The bank item or answer card that means the same; CannotGrade (with the closest) if none."""
        return self.rubrics.for_question(question)

    async def arubric_for_follow_up(self, follow_up: str) -> Rubric | None:
        """An interview follow-up's own rubric (the card asking the same), or None."""
        return await asyncio.to_thread(self.rubrics.for_follow_up, follow_up)

    async def arubric_for_question(self, question: str) -> Rubric:
        return await asyncio.to_thread(self.rubric_for_question, question)

    # grading

    def grade(self, rubric: Rubric, answer: str) -> Grade:
        """The offline grade: synchronous, deterministic, one batched embedding call."""
        return self.offline.grade(rubric, answer)

    async def agrade(self, rubric: Rubric, answer: str) -> Grade:
        """The LLM judge's grade when one is configured and its output holds up, else the offline one."""
        if self.judge is None or not (answer or "").strip():
            return await asyncio.to_thread(self.grade, rubric, answer)
        try:
            return await asyncio.wait_for(self.judge.judge(rubric, answer, self.offline.params), self.llm_timeout)
        except Exception as exc:  # timeout, connection refused, HTTP 5xx, invalid output...
            reason = "timed out" if isinstance(exc, TimeoutError) else _reason(exc)
            log.warning("LLM judge %s; the offline grader decides", reason)
            grade = await asyncio.to_thread(self.grade, rubric, answer)
            grade.notice = f"The language model's grading {reason}, so the offline grader decided."
            grade.feedback = f"{grade.feedback} ({grade.notice})"
            return grade


def _reason(exc: Exception) -> str:
    from bot.study.grading.judge import InvalidJudgement

    if isinstance(exc, InvalidJudgement):
        return f"could not be used: {exc}"
    return f"failed ({type(exc).__name__})"
