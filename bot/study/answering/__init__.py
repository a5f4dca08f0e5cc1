"""Answering questions: the card index, the offline and LLM composers, and the service over them.

- ``cards``: answer cards matched to a question (BM25 + dense over each card's phrasings);
- ``questions``: what a question asks for, its subject, follow-ups;
- ``composer``: the offline composer (card, else the best section's opening, else "I don't know");
- ``llm``: the LLM composer (passages and matched cards in the prompt, citations checked);
- ``service``: the LCEL chain and its fallback;
- ``model``: Answer, Citation, RelatedQuestion.
"""

from bot.study.answering.cards import CardIndex, CardMatch, CardVectors, MatchWeights
from bot.study.answering.composer import Composer, ComposerSettings
from bot.study.answering.model import DONT_KNOW, Answer, Citation, RelatedQuestion, dont_know
from bot.study.answering.service import AnswerService

__all__ = [
    "DONT_KNOW",
    "Answer",
    "AnswerService",
    "CardIndex",
    "CardMatch",
    "CardVectors",
    "Citation",
    "Composer",
    "ComposerSettings",
    "MatchWeights",
    "RelatedQuestion",
    "dont_know",
]
