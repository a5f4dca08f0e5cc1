"""Validation of questions typed by learners, shared by every adapter."""

from __future__ import annotations

import re
import unicodedata

from bot.study.errors import InvalidQuestion

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def clean_question(raw: str, max_chars: int) -> str:
    """Strip control characters and extra spaces; refuse empty or oversized questions."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = CONTROL_CHARS.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise InvalidQuestion("The question is empty: type a question about machine learning.")
    if len(text) > max_chars:
        raise InvalidQuestion(
            f"The question is {len(text)} characters long; the limit is {max_chars}. "
            "Ask something shorter, or split it into several questions."
        )
    return text
