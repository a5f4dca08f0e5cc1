"""Load Markdown, plain text, HTML and PDF files into text, refusing what cannot be read."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.study.banks import split_front_matter

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


class SkipFile(Exception):
    """A file that cannot be ingested; the message says why, in a few words."""


@dataclass
class LoadedDocument:
    path: Path
    source: str  # stable label stored with every chunk (path relative to the working directory)
    title: str
    text: str  # Markdown-ish: headings as '#' lines
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """A file to ingest and the source label it is stored under."""

    path: Path
    source: str


def source_label(path: Path, base: Path | None = None) -> str:
    """The name a file's chunks are stored under: relative to ``base`` when the file is inside it
    (the project folder that holds knowledge/), else to the working directory, else absolute.
    Anchoring on ``base`` keeps labels the same whichever folder ingestion runs from.
    """
    resolved = path.resolve()
    for anchor in (base, Path.cwd()):
        if anchor is None:
            continue
        try:
            return resolved.relative_to(anchor.resolve()).as_posix()
        except ValueError:
            continue
    return resolved.as_posix()


def discover(paths: Iterable[Path], base: Path | None = None) -> tuple[list[Target], list[str], list[tuple[str, str]]]:
    """Expand files and folders into ingestible files.

    Returns the targets, the source prefixes each root covers (for deleting removed files), and
    (path, reason) for paths that do not exist or are explicitly given but unsupported.
    """

    targets: dict[str, Target] = {}
    scopes: list[str] = []
    problems: list[tuple[str, str]] = []
    for root in paths:
        if root.is_dir():
            label = source_label(root, base)
            # A folder covers every source below it; "." (the anchor itself) covers all relative ones.
            scopes.append("" if label == "." else label.rstrip("/") + "/")
            for p in sorted(_walk(root)):
                label = source_label(p, base)
                targets.setdefault(label, Target(p, label))
        elif root.is_file():
            if root.suffix.lower() not in SUPPORTED_SUFFIXES:
                problems.append((str(root), f"unsupported file type {root.suffix or '(none)'}"))
                continue
            label = source_label(root, base)
            scopes.append(label)
            targets.setdefault(label, Target(root, label))
        else:
            problems.append((str(root), "no such file or folder"))
    return list(targets.values()), scopes, problems


def _walk(root: Path) -> Iterator[Path]:
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel):
            continue
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES:
            yield p


def load(target: Target, max_bytes: int) -> LoadedDocument:
    """Read one file. Raises SkipFile for empty, oversized, binary, corrupt or unreadable files."""
    path = target.path
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SkipFile(f"unreadable ({exc.strerror or exc})") from exc
    if size == 0:
        raise SkipFile("empty file")
    if size > max_bytes:
        raise SkipFile(f"too large ({size / 1_048_576:.1f} MB, limit {max_bytes / 1_048_576:.1f} MB)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"unreadable ({exc.strerror or exc})") from exc
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        title, text = _pdf(raw)
        meta: dict[str, Any] = {}
    elif suffix in HTML_SUFFIXES:
        title, text = _html(_decode(raw))
        meta = {}
    else:
        meta, text = split_front_matter(_decode(raw))
        title = _markdown_title(text) if suffix != ".txt" else ""
        if suffix in {".txt", ".text"}:
            text = _promote_plain_headings(text)
    if not text.strip():
        raise SkipFile("no text in file")
    return LoadedDocument(path, target.source, title or _title_from_name(path), text, meta)


def _decode(raw: bytes) -> str:
    head = raw[:8192]
    if b"\x00" in head:
        raise SkipFile("binary file, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text[:8192])
        if printable < 0.95 * min(len(text), 8192):
            raise SkipFile("binary file, not text") from None
        return text


def _title_from_name(path: Path) -> str:
    words = re.split(r"[-_\s]+", path.stem)
    return " ".join(w[:1].upper() + w[1:] for w in words if w)


def _markdown_title(text: str) -> str:
    m = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return m.group(1).strip() if m else ""


_NUMBERED_HEADING = re.compile(r"^\s*\d{1,2}[.)]\s+[A-Z][^.!?:]{2,80}$")
_SHORT_TITLE = re.compile(r"^[A-Z][\w&/()'’,\- ]{2,60}$")


def _promote_plain_headings(text: str) -> str:
    """Turn the headings of a plain-text page into Markdown headings, so splitting can use them.

    A heading here is a numbered line ("3. Solid Mathematical Knowledge") or a short capitalised
    line with no final punctuation that is followed by a longer line.
    """
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        nxt = next((x.strip() for x in lines[i + 1 :] if x.strip()), "")
        if _NUMBERED_HEADING.match(stripped) or (
            _SHORT_TITLE.match(stripped)
            and len(stripped.split()) <= 8
            and len(nxt) > len(stripped)
            and not stripped.startswith("-")
        ):
            out.append("## " + stripped)
        else:
            out.append(line)
    return "\n".join(out)


def _html(html: str) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(
        ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "svg", "button"]
    ):
        tag.decompose()
    body = soup.body or soup
    lines: list[str] = []
    for el in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "dt", "dd"]):
        if el.find_parent(["li", "pre", "blockquote", "td", "dd"]) is not None and el.name != "pre":
            continue  # nested: its text is already in the parent
        text = el.get_text(" ", strip=True)
        if not text:
            continue
        if el.name[0] == "h" and el.name[1:].isdigit():
            lines += ["", "#" * int(el.name[1]) + " " + text, ""]
        elif el.name == "li":
            lines.append("- " + text)
        else:
            lines += [text, ""]
    h1 = next((ln[2:] for ln in lines if ln.startswith("# ")), "")
    return (h1 or title), "\n".join(lines)


def _pdf(raw: bytes) -> tuple[str, str]:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise SkipFile("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.title) if info and info.title else ""
    except SkipFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AssertionError) as exc:
        raise SkipFile(f"corrupt PDF ({type(exc).__name__})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise SkipFile("PDF has no extractable text (scanned images?)")
    return title, text
