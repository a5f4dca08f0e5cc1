"""Heading-aware chunking sized for the embedding model's window.

Each chunk stays inside one section, carries its heading path, and is embedded with that path in
front of it, so a chunk retrieved on its own still says what it is about. Chunk ids hash the
source and the exact text that is embedded: a changed chunk gets a new id, an unchanged one keeps
its id whatever moved around it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.study.text import split_sentences
from ingest.load import LoadedDocument

Metadata = dict[str, str | int | float | bool]

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")

# all-MiniLM-L6-v2 reads 256 word pieces; English prose runs ~1.3 pieces a word, and the heading
# path in front of each chunk costs ~20, so 150 words leaves headroom. When a tokenizer is given,
# every chunk is checked exactly and split again if it is still too long.
DEFAULT_MAX_WORDS = 150
DEFAULT_MAX_TOKENS = 256


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    embed_text: str
    metadata: Metadata = field(default_factory=dict)


@dataclass
class _Section:
    path: list[str]
    lines: list[str]


def _sections(text: str) -> list[_Section]:
    sections = [_Section([], [])]
    stack: list[tuple[int, str]] = []
    fence = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fence = not fence
        m = None if fence else _HEADING.match(line)
        if m:
            level, title = len(m.group(1)), m.group(2).strip()
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            sections.append(_Section([t for _, t in stack], []))
        else:
            sections[-1].lines.append(line)
    return sections


def _paragraphs(lines: list[str]) -> list[str]:
    paras: list[str] = []
    buf: list[str] = []
    fence = False
    for line in lines:
        if line.lstrip().startswith("```"):
            fence = not fence
        if not fence and not line.strip() and not line.lstrip().startswith("```"):
            if buf:
                paras.append("\n".join(buf).strip())
                buf = []
            continue
        buf.append(line)
    if buf:
        paras.append("\n".join(buf).strip())
    return [p for p in paras if p]


def _words(text: str) -> int:
    return len(text.split())


def _pieces(paragraph: str, max_words: int) -> list[str]:
    """A paragraph small enough, or its sentences (a huge sentence is cut by words)."""
    if _words(paragraph) <= max_words:
        return [paragraph]
    out: list[str] = []
    for sentence in split_sentences(paragraph):
        words = sentence.split()
        for start in range(0, len(words), max_words):
            out.append(" ".join(words[start : start + max_words]))
    return out


def _pack(pieces: list[str], max_words: int) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        n = _words(piece)
        if current and size + n > max_words:
            chunks.append("\n\n".join(current))
            current, size = [], 0
        current.append(piece)
        size += n
    if current:
        chunks.append("\n\n".join(current))
    return chunks


def _heading_line(title: str, path: list[str]) -> str:
    inner = [p for p in path if p != title]
    return " > ".join([title, *inner]) if title else " > ".join(inner)


def split_document(
    doc: LoadedDocument,
    *,
    max_words: int = DEFAULT_MAX_WORDS,
    count_tokens: Callable[[str], int] | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> list[Chunk]:
    """Split a cleaned document into chunks with metadata: source, title, section, position."""
    chunks: list[Chunk] = []
    seen: Counter[str] = Counter()
    for section in _sections(doc.text):
        section_path = [p for p in section.path if p != doc.title]
        section_name = " > ".join(section_path)
        header = _heading_line(doc.title, section.path)
        pieces = [piece for para in _paragraphs(section.lines) for piece in _pieces(para, max_words)]
        texts = _pack(pieces, max_words)
        if count_tokens is not None:
            texts = [t for text in texts for t in _fit(text, header, count_tokens, max_tokens)]
        for text in texts:
            embed_text = f"{header}\n{text}" if header else text
            digest = hashlib.sha256(f"{doc.source}\x1f{embed_text}".encode()).hexdigest()[:32]
            seen[digest] += 1
            chunk_id = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"
            meta: Metadata = {
                "source": doc.source,
                "title": doc.title,
                "section": section_name,
                "position": len(chunks),
            }
            for key in ("area", "topic"):
                if isinstance(doc.meta.get(key), str):
                    meta[key] = doc.meta[key]
            chunks.append(Chunk(chunk_id, text, embed_text, meta))
    chunks += _aid_chunks(doc, [str(c.metadata["section"]) for c in chunks], len(chunks))
    return chunks


def _aid_chunks(doc: LoadedDocument, sections: list[str], position: int) -> list[Chunk]:
    """Retrieval aids from the front matter: ``about`` (what the note covers, what interviewers ask
    of it) and ``asked_as`` (section heading -> the ways learners ask about it: symptoms, slang,
    error messages). Each becomes one chunk marked ``aid``: searched like any other, but retrieval
    returns the note's section that best matches the question instead, never the aid itself, so
    these words help find the note and are never quoted."""
    asked = doc.meta.get("asked_as")
    phrasings = [p for ps in asked.values() if isinstance(ps, list) for p in ps] if isinstance(asked, dict) else []
    about = doc.meta.get("about")
    entries = [about if isinstance(about, list) else [], phrasings]
    out: list[Chunk] = []
    for lines in entries:
        lines = [str(p).strip() for p in lines if str(p).strip()]
        if not lines or not sections:
            continue
        text = "\n".join(lines)
        embed_text = f"{doc.title}\n{text}" if doc.title else text
        digest = hashlib.sha256(f"{doc.source}\x1faid\x1f{embed_text}".encode()).hexdigest()[:32]
        meta: Metadata = {"source": doc.source, "title": doc.title, "section": "", "position": position + len(out)}
        meta["aid"] = True
        for key in ("area", "topic"):
            if isinstance(doc.meta.get(key), str):
                meta[key] = doc.meta[key]
        out.append(Chunk(digest, text, embed_text, meta))
    return out


def _fit(text: str, header: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    if count_tokens(f"{header}\n{text}") <= max_tokens:
        return [text]
    sentences = split_sentences(text)
    if len(sentences) < 2:
        words = text.split()
        if len(words) < 2:
            return [text]
        sentences = [" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])]
    half = len(sentences) // 2
    return _fit(" ".join(sentences[:half]), header, count_tokens, max_tokens) + _fit(
        " ".join(sentences[half:]), header, count_tokens, max_tokens
    )


def load_token_counter(model_path: str) -> Callable[[str], int] | None:
    """An exact word-piece counter from the model's tokenizer.json, without importing torch."""
    from pathlib import Path

    path = Path(model_path) / "tokenizer.json"
    if not path.is_file():
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()

    def count(text: str) -> int:
        return len(tokenizer.encode(text).ids)

    return count
