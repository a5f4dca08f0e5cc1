"""Answering questions: the card index, the offline and LLM composers, and the service over them.

- ``cards``: answer cards matched to a question (BM25 + dense over each card's phrasings);
- ``questions``: what a question asks for, its subject, follow-ups;
- ``composer``: the offline composer (card, else the best section's opening, else "I don't know");
- ``llm``: the LLM composer (passages and matched cards in the prompt, citations checked);
- ``service``: the LCEL chain and its fallback;
- ``model``: Answer, Citation, RelatedQuestion.

Names are loaded on first use (PEP 562): grading needs ``cards`` without the LCEL chain, and a
one-shot `studybot grade` should not pay for importing LangChain's runnables and tracers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.study.answering.cards import CardIndex, CardMatch, CardVectors, MatchWeights
    from bot.study.answering.composer import Composer, ComposerSettings
    from bot.study.answering.model import DONT_KNOW, Answer, Citation, RelatedQuestion, dont_know
    from bot.study.answering.service import AnswerService

_WHERE = {
    "CardIndex": "cards", "CardMatch": "cards", "CardVectors": "cards", "MatchWeights": "cards",
    "Composer": "composer", "ComposerSettings": "composer",
    "DONT_KNOW": "model", "Answer": "model", "Citation": "model", "RelatedQuestion": "model", "dont_know": "model",
    "AnswerService": "service",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


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
