"""Validate knowledge/ by hand: ``python tools/check_knowledge.py``. The tests run the same checks."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.study.banks import (
    load_interview_questions,
    load_notes,
    load_quiz_items,
    load_retrieval_questions,
    load_topics,
)

ROOT = Path(__file__).resolve().parents[1] / "knowledge"


def main() -> int:
    problems: list[str] = []
    topics = load_topics(ROOT)
    notes = load_notes(ROOT)
    quiz = load_quiz_items(ROOT)
    interview = load_interview_questions(ROOT)
    retrieval = load_retrieval_questions((ROOT.parent / "tests" / "data" / "retrieval").glob("*.yaml"))
    topic_area = {t.id: a.id for a in topics.areas for t in a.topics}
    for kind, items in (("quiz", quiz), ("interview", interview)):
        for ident, n in Counter(i.id for i in items).items():
            if n > 1:
                problems.append(f"{kind}: duplicate id {ident}")
        for i in items:
            if topic_area.get(i.topic) != i.area:
                problems.append(f"{kind} {i.id}: unknown topic/area {i.area}/{i.topic}")
            note = notes.get(i.source.note)
            if note is None:
                problems.append(f"{kind} {i.id}: no note {i.source.note}")
            elif i.source.section not in note.headings:
                problems.append(f"{kind} {i.id}: no heading {i.source.section!r} in {i.source.note}")
    for q in retrieval:
        if q.note not in notes:
            problems.append(f"retrieval: no note {q.note} for {q.question!r}")
    quiz_by_topic = Counter(i.topic for i in quiz)
    iv_by_topic = Counter(i.topic for i in interview)
    for a in topics.areas:
        if not (ROOT / a.guide).is_file():
            problems.append(f"missing guide {a.guide}")
        for t in a.topics:
            path = f"notes/{a.id}/{t.id}.md"
            if path not in notes:
                problems.append(f"missing note {path}")
            if quiz_by_topic[t.id] < 3:
                problems.append(f"topic {t.id}: {quiz_by_topic[t.id]} quiz items (need 3+)")
            if iv_by_topic[t.id] < 1:
                problems.append(f"topic {t.id}: no interview question")
    words = sum(n.words for n in notes.values())
    print(f"notes={len(notes)} words={words} quiz={len(quiz)} interview={len(interview)} retrieval={len(retrieval)}")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
