"""Schemas and loaders for the content in ``knowledge/``: topics, notes, quiz and interview banks.

The banks are YAML files that people edit by hand, so every loader validates with pydantic and
reports the file and item that is wrong instead of failing later at quiz time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.study.errors import KnowledgeError

NonEmpty = Annotated[str, Field(min_length=1)]
ID_PATTERN = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"


class Difficulty(StrEnum):
    easy = "easy"
    medium = "medium"
    hard = "hard"


class QuizType(StrEnum):
    mcq = "mcq"
    multi = "multi"
    true_false = "true_false"
    short = "short"


class Level(StrEnum):
    junior = "junior"
    mid = "mid"
    senior = "senior"


class InterviewKind(StrEnum):
    conceptual = "conceptual"
    practical = "practical"
    system_design = "system_design"
    behavioral = "behavioral"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Topic(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: NonEmpty


class Area(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: NonEmpty
    guide: NonEmpty
    topics: list[Topic] = Field(min_length=1)


class TopicList(_Strict):
    areas: list[Area] = Field(min_length=1)

    def topic_ids(self) -> list[str]:
        return [t.id for a in self.areas for t in a.topics]

    def area_of(self, topic_id: str) -> Area | None:
        return next((a for a in self.areas if any(t.id == topic_id for t in a.topics)), None)

    def title_of(self, topic_or_area: str) -> str:
        """A topic's or an area's title as people read it; an unknown id as words."""
        for area in self.areas:
            if area.id == topic_or_area:
                return area.title
            for topic in area.topics:
                if topic.id == topic_or_area:
                    return topic.title
        return topic_or_area.replace("_", " ").replace("-", " ")


class SourceRef(_Strict):
    """A section of a note: ``note`` is relative to ``knowledge/``, ``section`` a heading's text."""

    note: Annotated[str, Field(pattern=r"^notes/[a-z0-9-]+/[a-z0-9-]+\.md$")]
    section: NonEmpty


class QuizItem(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    area: NonEmpty
    topic: NonEmpty
    difficulty: Difficulty
    type: QuizType
    question: NonEmpty
    choices: list[NonEmpty] = Field(default_factory=list)
    # mcq: index of the right choice; multi: indices; true_false: bool; short: a model answer.
    answer: int | list[int] | bool | str
    key_points: list[NonEmpty] = Field(default_factory=list)
    explanation: NonEmpty
    source: SourceRef

    @model_validator(mode="after")
    def _answer_matches_type(self) -> QuizItem:
        n = len(self.choices)
        if len(set(c.strip().lower() for c in self.choices)) != n:
            raise ValueError("choices must be distinct")
        if self.type is QuizType.mcq:
            if not (3 <= n <= 6) or type(self.answer) is not int or not 0 <= self.answer < n:
                raise ValueError("mcq needs 3-6 choices and an int answer indexing them")
        elif self.type is QuizType.multi:
            ans = self.answer
            if not (4 <= n <= 6) or not isinstance(ans, list) or len(ans) < 2:
                raise ValueError("multi needs 4-6 choices and a list of at least 2 answers")
            if len(set(ans)) != len(ans) or any(not 0 <= a < n for a in ans) or len(ans) == n:
                raise ValueError("multi answers must be distinct indexes, not all choices")
        elif self.type is QuizType.true_false:
            if n or not isinstance(self.answer, bool):
                raise ValueError("true_false takes no choices and a boolean answer")
        else:
            if n or not isinstance(self.answer, str) or len(self.key_points) < 2:
                raise ValueError("short takes no choices, a model answer and 2+ key_points")
        if self.type is not QuizType.short and self.key_points:
            raise ValueError("only short items have key_points")
        return self


class InterviewQuestion(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    area: NonEmpty
    topic: NonEmpty
    level: Level
    kind: InterviewKind
    question: NonEmpty
    key_points: list[NonEmpty] = Field(min_length=3, max_length=6)
    # A behavioral question's model answer: one story told in STAR form (Situation, Task, Action, Result).
    example_answer: NonEmpty | None = None
    follow_ups: list[NonEmpty] = Field(min_length=1, max_length=3)
    red_flags: list[NonEmpty] = Field(min_length=1)
    source: SourceRef

    @field_validator("key_points")
    @classmethod
    def _full_sentences(cls, points: list[str]) -> list[str]:
        for p in points:
            if len(p.split()) < 5 or not p.rstrip().endswith((".", "?", "!", ")")):
                raise ValueError(f"key point is not a full sentence: {p!r}")
        return points

    @model_validator(mode="after")
    def _star_example(self) -> InterviewQuestion:
        if self.kind is InterviewKind.behavioral:
            labels = ("Situation:", "Task:", "Action:", "Result:")
            if not self.example_answer or any(label not in self.example_answer for label in labels):
                raise ValueError("a behavioral question needs an example_answer in STAR form (Situation: ...)")
        elif self.example_answer is not None:
            raise ValueError("only behavioral questions have an example_answer")
        return self


class CardKind(StrEnum):
    definition = "definition"
    comparison = "comparison"
    how_to = "how-to"
    why = "why"
    when_to_use = "when-to-use"
    symptom = "symptom"
    example = "example"
    design = "design"
    behavioral = "behavioral"


# An answer card's answer: 2-5 sentences, about 90 words at most (design and behavioral outlines 130).
CARD_MAX_WORDS = 95
CARD_MAX_WORDS_LONG = 135
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[A-Z0-9`\"(])")
_META = re.compile(r"\b(the note\b|this note\b|see above|as mentioned|notes/[a-z-]+/|\.md\b)", re.IGNORECASE)


class Card(_Strict):
    """A short authored answer to a question as learners ask it (``knowledge/cards/<area>/<topic>.yaml``)."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*-c[0-9]{2,3}$")]
    area: NonEmpty
    topic: NonEmpty
    kind: CardKind
    question: NonEmpty
    asked_as: list[NonEmpty] = Field(min_length=2, max_length=5)
    answer: NonEmpty
    source: SourceRef
    related: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(min_length=1, max_length=4)

    @field_validator("answer")
    @classmethod
    def _answer_shape(cls, answer: str) -> str:
        if _META.search(answer):
            raise ValueError(f"answer refers to a note or a file instead of standing alone: {answer[:60]!r}")
        if "\n#" in answer or re.search(r"^\s*[-*] ", answer, re.MULTILINE):
            raise ValueError("answer is plain sentences: no headings or lists")
        return " ".join(answer.split())

    @model_validator(mode="after")
    def _answer_length(self) -> Card:
        sentences = card_sentences(self.answer)
        limit = CARD_MAX_WORDS_LONG if self.kind in (CardKind.design, CardKind.behavioral) else CARD_MAX_WORDS
        if not 2 <= len(sentences) <= 5:
            raise ValueError(f"answer has {len(sentences)} sentences; a card answers in 2-5")
        if len(self.answer.split()) > limit:
            raise ValueError(f"answer has {len(self.answer.split())} words; at most {limit}")
        if self.id in self.related:
            raise ValueError("a card is not related to itself")
        return self


def card_sentences(text: str) -> list[str]:
    """The sentences of a card's answer (cards are plain prose, so a simple splitter is exact enough)."""
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


class Misconception(_Strict):
    """A confident wrong belief about a topic and its correction (``knowledge/misconceptions/<area>.yaml``).

    The grader treats a claim that states ``wrong`` (closer to it than to ``right``) as a wrong claim,
    whatever rubric of the topic it is graded on, and corrects it with ``right``."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*-m[0-9]{2,3}$")]
    topic: NonEmpty
    wrong: NonEmpty
    right: NonEmpty
    source: SourceRef

    @field_validator("wrong", "right")
    @classmethod
    def _one_sentence(cls, text: str) -> str:
        text = " ".join(text.split())
        if not 5 <= len(text.split()) <= 40:
            raise ValueError(f"a misconception and its correction are one sentence of 5-40 words: {text[:60]!r}")
        if len(card_sentences(text)) != 1:
            raise ValueError(f"one sentence, not several: {text[:60]!r}")
        return text

    @model_validator(mode="after")
    def _differ(self) -> Misconception:
        if self.wrong.lower().rstrip(".") == self.right.lower().rstrip("."):
            raise ValueError("the correction repeats the misconception")
        return self


class RetrievalQuestion(_Strict):
    question: NonEmpty
    note: Annotated[str, Field(pattern=r"^notes/[a-z0-9-]+/[a-z0-9-]+\.md$")]


@dataclass
class Note:
    path: str  # relative to knowledge/, e.g. notes/math/probability.md
    meta: dict[str, Any]
    title: str
    headings: list[str] = field(default_factory=list)
    words: int = 0


FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Return the YAML front matter of a Markdown text (or ``{}``) and the body after it."""
    m = FRONT_MATTER.match(text)
    if not m:
        return {}, text
    try:
        meta = _yaml(m.group(1)) or {}
    except yaml.YAMLError:
        return {}, text
    return (meta if isinstance(meta, dict) else {}), text[m.end() :]


# libyaml's parser when PyYAML was built with it (the wheels are): the same safe loading, ~10x faster,
# which matters because a one-shot `studybot ask` reads ~100 card files.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # a safe loader: plain data only


def _read_yaml(path: Path) -> Any:
    try:
        return _yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: cannot read YAML ({exc})") from exc


def _validate_list(path: Path, model: type[BaseModel], data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise KnowledgeError(f"{path}: expected a list of items")
    items = []
    for i, raw in enumerate(data):
        try:
            items.append(model.model_validate(raw))
        except ValidationError as exc:
            ident = raw.get("id", f"#{i}") if isinstance(raw, dict) else f"#{i}"
            raise KnowledgeError(f"{path}: item {ident}: {exc}") from exc
    return items


def load_topics(root: Path) -> TopicList:
    path = root / "topics.yaml"
    if not path.is_file():
        raise KnowledgeError(
            f"no topics.yaml in {root.resolve()}: run studybot from the project folder or set STUDYBOT_KNOWLEDGE_DIR"
        )
    try:
        return TopicList.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise KnowledgeError(f"{path}: {exc}") from exc


def _bank_files(root: Path, folder: str) -> list[Path]:
    if not (root / folder).is_dir():
        raise KnowledgeError(
            f"no {folder} bank in {root.resolve()}: run studybot from the project folder or set STUDYBOT_KNOWLEDGE_DIR"
        )
    return sorted((root / folder).glob("*.yaml"))


def load_quiz_items(root: Path) -> list[QuizItem]:
    return [i for p in _bank_files(root, "quiz") for i in _validate_list(p, QuizItem, _read_yaml(p))]


def load_interview_questions(root: Path) -> list[InterviewQuestion]:
    return [q for p in _bank_files(root, "interview") for q in _validate_list(p, InterviewQuestion, _read_yaml(p))]


def load_cards(root: Path, *, problems: list[str] | None = None) -> list[Card]:
    """Every card under ``knowledge/cards/`` (one YAML list per topic); none when the folder is absent.

    Strict by default (the schema tests). With ``problems`` given, a card that does not validate is
    left out and described there instead, so one bad edit does not take every card away.
    """
    folder = root / "cards"
    paths = sorted(folder.rglob("*.yaml")) if folder.is_dir() else []
    if problems is None:
        return [c for p in paths for c in _validate_list(p, Card, _read_yaml(p))]
    cards: list[Card] = []
    for path in paths:
        try:
            data = _read_yaml(path)
        except KnowledgeError as exc:
            problems.append(str(exc))
            continue
        for i, raw in enumerate(data if isinstance(data, list) else []):
            try:
                cards.append(Card.model_validate(raw))
            except ValidationError as exc:
                ident = raw.get("id", f"#{i}") if isinstance(raw, dict) else f"#{i}"
                problems.append(f"{path}: card {ident}: {exc.errors()[0]['msg']}")
    return cards


CARD_CACHE_FORMAT = 1  # bump when Card's fields change: older cache files are then ignored


def load_cards_cached(root: Path, cache_dir: Path, *, problems: list[str]) -> list[Card]:
    """``load_cards(root, problems=...)``, kept as validated JSON in ``cache_dir`` between processes.

    Reading ~100 YAML files is most of a one-shot command's card loading; the cache file is named
    by a hash of every card file's path, size and modification time, so an edited, added or removed
    card file is read afresh. A missing, corrupt or unwritable cache only costs the YAML read.
    """
    folder = root / "cards"
    paths = sorted(folder.rglob("*.yaml")) if folder.is_dir() else []
    digest = hashlib.sha256(f"{CARD_CACHE_FORMAT}:{folder.resolve()}".encode())
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    cache = cache_dir / f"cards-{digest.hexdigest()[:24]}.json"
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        cards = [Card.model_validate(raw) for raw in data["cards"]]
        problems.extend(str(p) for p in data["problems"])
        return cards
    except (OSError, ValueError, KeyError, TypeError, ValidationError):
        pass
    found: list[str] = []
    cards = load_cards(root, problems=found)
    problems.extend(found)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob("cards-*.json"):  # one cache file per card set: drop the stale ones
            old.unlink(missing_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"cards": [c.model_dump(mode="json") for c in cards], "problems": found}))
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only cache folder: the cards still load, just not faster next time
    return cards


def load_misconceptions(root: Path) -> list[Misconception]:
    """Every misconception under ``knowledge/misconceptions/`` (one YAML list per area); none when the
    folder is absent."""
    folder = root / "misconceptions"
    paths = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    return [m for p in paths for m in _validate_list(p, Misconception, _read_yaml(p))]


def load_everyday_questions(root: Path) -> list[str]:
    """The questions from outside the field under ``knowledge/scope/`` (YAML lists of strings), which
    tell the composer what a question that only borrows the field's words looks like; none when the
    folder is absent."""
    folder = root / "scope"
    out: list[str] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        data = _read_yaml(path)
        if not isinstance(data, list) or not all(isinstance(q, str) and q.strip() for q in data):
            raise KnowledgeError(f"{path}: expected a list of questions (non-empty strings)")
        out += [q.strip() for q in data]
    return list(dict.fromkeys(out))


def load_retrieval_questions(paths: Iterable[Path]) -> list[RetrievalQuestion]:
    return [q for p in sorted(paths) for q in _validate_list(p, RetrievalQuestion, _read_yaml(p))]


def load_notes(root: Path) -> dict[str, Note]:
    notes: dict[str, Note] = {}
    for p in sorted((root / "notes").rglob("*.md")):
        meta, body = split_front_matter(p.read_text(encoding="utf-8"))
        heads = [m.group(2).strip() for m in HEADING.finditer(body)]
        title = next((m.group(2).strip() for m in HEADING.finditer(body) if m.group(1) == "#"), p.stem)
        rel = p.relative_to(root).as_posix()
        notes[rel] = Note(rel, meta, title, heads, len(body.split()))
    return notes
