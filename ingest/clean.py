"""Strip page furniture and promotional boilerplate from loaded text.

Real study pages carry calls to action repeated between sections, comment counters, share and
subscribe lines, emoji-only lines and navigation text. None of it helps answer a question and all
of it pollutes retrieval, so it goes before splitting. Code blocks are left untouched.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# Lines that are furniture whatever else they say. Matched case-insensitively on short lines only,
# so a real paragraph that mentions "subscribe" is kept.
_FURNITURE = [
    r"\bclick (here )?to\b",
    r"👉|➡️|⬇️|🔥|🚀",
    r"\btop comments\b",
    r"^\s*\(?\d*\s*comments?\s*(\(\d+\))?\s*\)?$",
    r"\b(share|tweet|post) (this|on|via)\b",
    r"^\s*(share|like|reply|report|copy link|bookmark|save)\s*$",
    r"\bsubscribe\b",
    r"\b(sign up|log in|login|sign in) (to|for|now|free|with)\b",
    r"^\s*(sign up|log in|login|sign in|register)\s*$",
    r"\bfollow (us|me)\b",
    r"^\s*(read more|continue reading|load more|show more)\b",
    r"\bskip to (main )?content\b",
    r"\b(we use cookies|accept (all )?cookies|cookie (policy|settings))\b",
    r"\ball rights reserved\b|^\s*(©|\(c\))\s*\d{4}",
    r"^\s*(back to top|table of contents|advertisement|sponsored)\s*$",
    r"^\s*(previous|next) (post|article|page)\b",
    r"\b(free trial|limited offer|boost (your )?job offer)\b",
]
_FURNITURE_RE = re.compile("|".join(f"(?:{p})" for p in _FURNITURE), re.IGNORECASE)
_SHORT_LINE = 240
# "Home > Blog > Post" or "Home | About | Contact": three or more short segments.
_NAV_RE = re.compile(r"^\s*(?:[\w .&'-]{1,25}\s*(?:>|»|\||/|·|•)\s*){2,}[\w .&'-]{1,25}\s*$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def _is_emoji_only(line: str) -> bool:
    """True for a line with symbols but no letters or digits (emoji rows, dividers like '***')."""
    stripped = line.strip()
    if not stripped or stripped.startswith("|"):  # keep Markdown table rows such as |---|---|
        return False
    return not any(unicodedata.category(ch)[0] in "LN" for ch in stripped)


def is_furniture(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if _is_emoji_only(stripped):
        return True
    if len(stripped) <= _SHORT_LINE and _FURNITURE_RE.search(stripped):
        return True
    return bool(_NAV_RE.match(stripped)) and len(stripped) < 120 and not stripped.startswith("#")


def clean_text(text: str) -> str:
    """Return ``text`` without furniture lines, repeated boilerplate and control characters."""
    text = _CONTROL_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    # Comment counters are often glued to the end of the last paragraph of a page.
    text = re.sub(r"[ \t]*\bTop comments \(\d+\)[ \t]*", "\n", text, flags=re.IGNORECASE)
    lines = text.split("\n")
    in_code = [False] * len(lines)
    fence = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fence = not fence
            in_code[i] = True
        else:
            in_code[i] = fence
    # A long line that appears twice or more outside code is boilerplate (a repeated banner).
    counts = Counter(_norm(ln) for ln, code in zip(lines, in_code, strict=True) if not code and len(ln.strip()) > 40)
    kept: list[str] = []
    for line, code in zip(lines, in_code, strict=True):
        if code:
            kept.append(line.rstrip())
            continue
        stripped = line.strip()
        if stripped.startswith("#"):
            kept.append(line.rstrip())
            continue
        if is_furniture(stripped) or (len(stripped) > 40 and counts[_norm(line)] >= 2):
            continue
        kept.append(re.sub(r"[ \t]+", " ", line.rstrip()))
    cleaned = "\n".join(kept)
    return re.sub(r"\n{3,}", "\n\n", cleaned).strip() + "\n"


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line.strip().lower())
