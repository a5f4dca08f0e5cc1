"""Small text utilities shared by the composer and the grader: sentences and content terms."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[`*])")
BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+")
_WORD = re.compile(r"[a-z0-9][a-z0-9+#.'-]*[a-z0-9+#]|[a-z0-9]")

_STOPWORD_TEXT = """
    a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further get gets got had hadn't has hasn't have
    haven't having he her here hers herself him himself his how i i'm if in into is isn't it
    it's its itself just let's me more most mustn't my myself no nor not of off on once only or
    other ought our ours ourselves out over own same shan't she should shouldn't so some such
    than that that's the their theirs them themselves then there there's these they this those
    through to too under until up very was wasn't we were weren't what what's when where which
    while who whom why why's will with won't would wouldn't you your yours yourself yourselves
    how's where's when's who's here's
    also use used using uses one two way ways thing things something anything really actually
    exactly explain tell know mean means like want need ok okay hey hi please thanks thank does
    work works difference vs versus
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def stem(word: str) -> str:
    """A deliberately light suffix stripper: 'gradients' and 'gradient' match, little else changes."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def capitalized(text: str) -> str:
    """The text with its first letter upper-case ("then offer ..." cut to "offer ..." -> "Offer ...")."""
    return text[:1].upper() + text[1:]


def words(text: str) -> list[str]:
    """Lower-cased words of two or more characters, as written (no stemming, stop words kept)."""
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1]


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words (stop words dropped)."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def split_sentences(text: str) -> list[str]:
    flat = re.sub(r"\s+", " ", text).strip()
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()] if flat else []


def passage_sentences(text: str) -> list[str]:
    """The sentences of a Markdown passage: list items count as units, code and tables are skipped."""
    units: list[str] = []
    fence = False
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            units.append(" ".join(paragraph))
            paragraph.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            fence = not fence
            continue
        if fence or stripped.startswith("|"):
            continue
        if not stripped or stripped.startswith("#"):
            flush()
            continue
        if BULLET.match(stripped):
            flush()
            paragraph.append(BULLET.sub("", stripped))
            continue
        paragraph.append(stripped)
    flush()
    return [s for unit in units for s in split_sentences(unit)]
