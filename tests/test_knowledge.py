"""Schema and coverage checks of knowledge/: the content is data, and data gets tests."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import yaml

from bot.study.banks import (
    CardKind,
    Difficulty,
    InterviewKind,
    InterviewQuestion,
    Level,
    Misconception,
    Note,
    QuizItem,
    QuizType,
    RetrievalQuestion,
    TopicList,
    load_cards,
    load_everyday_questions,
    load_interview_questions,
    load_misconceptions,
    load_notes,
    load_quiz_items,
    load_retrieval_questions,
    load_topics,
)
from bot.study.embedding import Embedder
from bot.study.errors import KnowledgeError

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"
REFERENCE = REPO.parent / "shared" / "reference" / "ml-engineer-skills-guide.txt"


@pytest.fixture(scope="module")
def topics() -> TopicList:
    return load_topics(KNOWLEDGE)


@pytest.fixture(scope="module")
def notes() -> dict[str, Note]:
    return load_notes(KNOWLEDGE)


@pytest.fixture(scope="module")
def quiz() -> list[QuizItem]:
    return load_quiz_items(KNOWLEDGE)


@pytest.fixture(scope="module")
def interview() -> list[InterviewQuestion]:
    return load_interview_questions(KNOWLEDGE)


@pytest.fixture(scope="module")
def retrieval() -> list[RetrievalQuestion]:
    return load_retrieval_questions((REPO / "tests" / "data" / "retrieval").glob("*.yaml"))


def test_sizes(
    notes: dict[str, Note], quiz: list[QuizItem], interview: list[InterviewQuestion], retrieval: list[RetrievalQuestion]
) -> None:
    assert 60 <= len(notes) <= 100
    assert sum(n.words for n in notes.values()) >= 60_000
    assert len(quiz) >= 400 and len(interview) >= 150 and len(retrieval) >= 100


def test_ids_are_unique(quiz: list[QuizItem], interview: list[InterviewQuestion]) -> None:
    ids = Counter([i.id for i in quiz] + [q.id for q in interview])
    assert [i for i, n in ids.items() if n > 1] == []


def test_every_item_cites_a_real_heading(
    notes: dict[str, Note], quiz: list[QuizItem], interview: list[InterviewQuestion]
) -> None:
    broken = [
        f"{i.id}: {i.source.note}#{i.source.section}"
        for i in [*quiz, *interview]
        if i.source.note not in notes or i.source.section not in notes[i.source.note].headings
    ]
    assert broken == []


def test_items_name_known_topics_and_their_area(
    topics: TopicList, quiz: list[QuizItem], interview: list[InterviewQuestion]
) -> None:
    area_of = {t.id: a.id for a in topics.areas for t in a.topics}
    assert [i.id for i in [*quiz, *interview] if area_of.get(i.topic) != i.area] == []


def test_every_topic_has_a_note_quiz_items_and_interview_questions(
    topics: TopicList, notes: dict[str, Note], quiz: list[QuizItem], interview: list[InterviewQuestion]
) -> None:
    quiz_n, iv_n = Counter(i.topic for i in quiz), Counter(q.topic for q in interview)
    difficulties: dict[str, set[Difficulty]] = {}
    for item in quiz:
        difficulties.setdefault(item.topic, set()).add(item.difficulty)
    for area in topics.areas:
        assert (KNOWLEDGE / area.guide).is_file(), area.guide
        for topic in area.topics:
            note = notes.get(f"notes/{area.id}/{topic.id}.md")
            assert note is not None, topic.id
            assert note.meta.get("area") == area.id and note.meta.get("topic") == topic.id
            assert len(note.meta.get("aliases", [])) >= 5, f"{topic.id}: learners' words missing"
            asked = note.meta.get("asked_as") or {}
            assert sum(len(v) for v in asked.values()) >= 2, f"{topic.id}: learners' phrasings missing"
            assert quiz_n[topic.id] >= 3, topic.id
            assert iv_n[topic.id] >= 1, topic.id
            assert Difficulty.easy in difficulties[topic.id], topic.id


def test_banks_cover_every_type_level_and_kind(quiz: list[QuizItem], interview: list[InterviewQuestion]) -> None:
    assert {i.type for i in quiz} == set(QuizType)
    assert {i.difficulty for i in quiz} == set(Difficulty)
    assert {q.level for q in interview} == set(Level)
    assert {q.kind for q in interview} == set(InterviewKind)
    design = " ".join(q.question.lower() for q in interview if q.kind is InterviewKind.system_design)
    for system in ("fraud", "recommend", "search", "monitor"):
        assert system in design, system
    assert sum(q.kind is InterviewKind.behavioral for q in interview) >= 5


def test_retrieval_aids_live_in_front_matter_not_in_the_prose(notes: dict[str, Note]) -> None:
    """Learners' phrasings and "what this note covers" are for finding a note, never for quoting:
    they live in the front matter (``asked_as`` per section, ``about``), and the prose only explains."""
    meta_sentence = re.compile(r"(^|[.!?]\s+)(This note\b|Interviewers (ask|use|often|like|expect|want|probe|check)\b)")
    problems = []
    for path, note in notes.items():
        problems += [f"{path}: heading {h!r}" for h in note.headings if h.lower().startswith("how learners describe")]
        asked = note.meta.get("asked_as") or {}
        problems += [f"{path}: asked_as names no heading {h!r}" for h in asked if h not in note.headings]
        body = (KNOWLEDGE / path).read_text(encoding="utf-8").split("\n---\n", 1)[-1]
        problems += [f"{path}: points at a file" for _ in re.finditer(r"notes/[\w-]+/[\w-]+\.md", body)]
        problems += [f"{path}: meta sentence {m.group(0)!r}" for m in meta_sentence.finditer(body)]
    assert problems == []


def test_mcq_answers_are_spread_over_positions(quiz: list[QuizItem]) -> None:
    positions = Counter(i.answer for i in quiz if i.type is QuizType.mcq)
    assert len(positions) >= 4 and max(positions.values()) < 0.4 * sum(positions.values())


def test_retrieval_labels_point_at_notes(
    notes: dict[str, Note], retrieval: list[RetrievalQuestion], topics: TopicList
) -> None:
    assert [q.note for q in retrieval if q.note not in notes] == []
    assert len({q.note for q in retrieval}) == len(topics.topic_ids())  # every note is a target


def test_note_headings_stand_on_their_own(notes: dict[str, Note]) -> None:
    vague = {"overview", "introduction", "pitfalls", "example", "examples", "summary", "details", "notes"}
    assert [f"{p}: {h}" for p, n in notes.items() for h in n.headings if h.lower() in vague] == []


def _normalise(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def test_no_prose_copied_from_the_reference_guide() -> None:
    """Facts are free, sentences are not: no 8-word run of the skills guide appears in knowledge/."""
    if not REFERENCE.is_file():
        pytest.skip("the shared reference guide is not beside this checkout")
    ref = _normalise(REFERENCE.read_text(encoding="utf-8"))
    shingles = {" ".join(ref[i : i + 8]) for i in range(len(ref) - 7)}
    copied = []
    for path in KNOWLEDGE.rglob("*"):
        if path.suffix in {".md", ".yaml"}:
            words = _normalise(path.read_text(encoding="utf-8"))
            copied += [
                f"{path.name}: {' '.join(words[i : i + 8])}"
                for i in range(len(words) - 7)
                if " ".join(words[i : i + 8]) in shingles
            ]
    assert copied == []


def test_no_near_duplicate_questions(
    embedder: Embedder, quiz: list[QuizItem], interview: list[InterviewQuestion]
) -> None:
    for bank in (quiz, interview):
        texts = [i.question for i in bank]
        vectors = np.array(embedder.encode(texts))
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, 0)
        i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
        assert sims[i, j] < 0.93, f"near-duplicates: {bank[i].id} / {bank[j].id}"


def _check_cards_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_cards", REPO / "tools" / "check_cards.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_answer_cards_follow_the_schema_and_cover_every_topic(topics: TopicList) -> None:
    """Every card validates, lives in its topic's file, cites a real content heading, has a unique id
    and related ids that exist; every topic has at least 8 cards (tools/check_cards.py)."""
    tool = _check_cards_tool()
    paths = sorted((KNOWLEDGE / "cards").rglob("*.yaml"))
    assert tool.card_problems(paths, whole_bank=True) == []
    cards = load_cards(KNOWLEDGE)
    assert len(cards) >= 1000
    per_topic = Counter(c.topic for c in cards)
    assert min(per_topic[t] for t in topics.topic_ids()) >= tool.MIN_PER_TOPIC
    assert {c.kind for c in cards} == set(CardKind)  # every kind of question is answered somewhere


def test_the_everyday_questions_are_unique_and_none_is_a_cards_question(tmp_path: Path) -> None:
    """knowledge/scope holds questions from outside the field: none may be a card's question or phrasing
    (it would mark that question as off-topic), and a malformed file is refused with its path."""
    everyday = load_everyday_questions(KNOWLEDGE)
    assert len(everyday) >= 500
    raw = yaml.safe_load((KNOWLEDGE / "scope" / "everyday.yaml").read_text(encoding="utf-8"))
    assert len(raw) == len(everyday), "a question is listed twice"
    asked = {q.lower().strip(" ?") for c in load_cards(KNOWLEDGE) for q in (c.question, *c.asked_as)}
    assert [q for q in everyday if q.lower().strip(" ?") in asked] == []
    bad = tmp_path / "scope"
    bad.mkdir()
    (bad / "broken.yaml").write_text("- fine question\n- ''\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"broken\.yaml"):
        load_everyday_questions(tmp_path)
    assert load_everyday_questions(tmp_path / "nowhere") == []


def test_misconceptions_follow_the_schema_cite_real_headings_and_cover_the_topics(
    topics: TopicList, notes: dict[str, Note]
) -> None:
    """Each misconception validates (one sentence each side, different), lives in its area's file,
    names a known topic, cites a real heading of that topic's note and has a unique id; the factual
    areas have misconceptions for every topic."""
    mistakes = load_misconceptions(KNOWLEDGE)
    area_of = {t.id: a.id for a in topics.areas for t in a.topics}
    files = {
        m.id: path.stem
        for path in sorted((KNOWLEDGE / "misconceptions").glob("*.yaml"))
        for m in load_misconceptions_file(path)
    }
    assert len(mistakes) >= 400
    assert [m.id for m in mistakes if area_of.get(m.topic) != files[m.id]] == []
    assert [m.id for m in mistakes if not m.id.startswith(f"{m.topic}-m")] == []
    assert [m.id for m in mistakes if m.source.note != f"notes/{area_of[m.topic]}/{m.topic}.md"] == []
    assert [
        m.id for m in mistakes if m.source.note not in notes or m.source.section not in notes[m.source.note].headings
    ] == []
    assert [i for i, n in Counter(m.id for m in mistakes).items() if n > 1] == []
    per_topic = Counter(m.topic for m in mistakes)
    factual = [t for a in topics.areas if a.id != "communication" for t in a.topics]
    assert [t.id for t in factual if per_topic[t.id] < 4] == []


def load_misconceptions_file(path: Path) -> list[Misconception]:
    from bot.study.banks import _read_yaml, _validate_list

    return _validate_list(path, Misconception, _read_yaml(path))


def test_no_two_cards_ask_the_same_question(embedder: Embedder) -> None:
    tool = _check_cards_tool()
    assert tool.near_duplicates(load_cards(KNOWLEDGE), embedder.encode) == []


def test_cards_are_cached_between_processes_and_reread_when_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from bot.study import banks

    root, cache = tmp_path / "knowledge", tmp_path / "cache"
    area = next(p for p in sorted((KNOWLEDGE / "cards").iterdir()) if p.is_dir())
    shutil.copytree(area, root / "cards" / area.name)
    expected = banks.load_cards(root)
    problems: list[str] = []
    assert banks.load_cards_cached(root, cache, problems=problems) == expected and problems == []
    assert len(list(cache.glob("cards-*.json"))) == 1

    with monkeypatch.context() as patch:
        patch.setattr(banks, "load_cards", lambda *a, **k: pytest.fail("read the YAML again"))
        assert banks.load_cards_cached(root, cache, problems=[]) == expected  # from the cache alone

    edited = sorted((root / "cards").rglob("*.yaml"))[0]
    question = banks.load_cards(root)[0].question  # the first card of the first file
    text = edited.read_text(encoding="utf-8")
    assert question in text
    edited.write_text(text.replace(question, question.rstrip("?") + " exactly?", 1), encoding="utf-8")
    fresh = banks.load_cards_cached(root, cache, problems=[])
    assert any(c.question.endswith(" exactly?") for c in fresh)  # the edit is seen, not the stale cache
    assert len(list(cache.glob("cards-*.json"))) == 1  # the stale file was replaced

    next(cache.glob("cards-*.json")).write_text("{not json", encoding="utf-8")
    assert banks.load_cards_cached(root, cache, problems=[]) == fresh  # a corrupt cache is rebuilt
