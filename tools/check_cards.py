"""Check answer cards: ``python tools/check_cards.py [FILE.yaml ...]`` (default: every card file).

Validates each card's schema (bot.study.banks.Card), that its file is knowledge/cards/<area>/<topic>.yaml
of a topic in topics.yaml, that it cites a real heading of its note (never a retrieval-aid section),
that ids are unique and related ids exist, and that every topic has at least 8 cards; with
``--near`` also that no two cards' questions are near-duplicates (cosine of their embeddings at or
above NEAR_DUPLICATE). Prints one line per problem; exit 1 if any.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.study.banks import Card, _read_yaml, _validate_list, load_notes, load_topics
from bot.study.errors import KnowledgeError

ROOT = Path(__file__).resolve().parents[1] / "knowledge"
MIN_PER_TOPIC = 8
NEAR_DUPLICATE = 0.94  # question pairs as close as this ask the same thing: merge them or tell them apart


def card_problems(paths: list[Path], *, whole_bank: bool) -> list[str]:
    topics = load_topics(ROOT)
    notes = load_notes(ROOT)
    area_of = {t.id: a.id for a in topics.areas for t in a.topics}
    problems: list[str] = []
    cards: list[Card] = []
    for path in paths:
        try:
            found = _validate_list(path, Card, _read_yaml(path))
        except KnowledgeError as exc:
            problems.append(str(exc))
            continue
        for card in found:
            where = f"{path.relative_to(ROOT.parent)}: {card.id}"
            if area_of.get(card.topic) != card.area:
                problems.append(f"{where}: topic {card.topic!r} is not in area {card.area!r}")
            if path.parent.name != card.area or path.stem != card.topic:
                problems.append(f"{where}: belongs in knowledge/cards/{card.area}/{card.topic}.yaml")
            note = notes.get(card.source.note)
            if note is None:
                problems.append(f"{where}: no note {card.source.note}")
            elif card.source.section not in note.headings:
                problems.append(f"{where}: {card.source.note} has no heading {card.source.section!r}")
            if card.source.section.lower().startswith("how learners describe"):
                problems.append(f"{where}: cite a section with content, not the learners' phrasings")
        cards += found
    ids = Counter(c.id for c in cards)
    problems += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    known = set(ids)
    if not whole_bank:  # related ids may point at cards in files not being checked
        known |= {c.id for c in load_all_cards()}
    for card in cards:
        problems += [f"{card.id}: related id {r} does not exist" for r in card.related if r not in known]
    if whole_bank:
        per_topic = Counter(c.topic for c in cards)
        problems += [
            f"topic {t}: {per_topic[t]} cards, at least {MIN_PER_TOPIC} needed"
            for t in area_of
            if per_topic[t] < MIN_PER_TOPIC
        ]
    return problems


def near_duplicates(cards: list[Card], encode: Callable[[list[str]], Any]) -> list[str]:
    """Pairs of cards whose questions mean the same (``encode`` returns unit vectors, one per text)."""
    vectors = np.asarray(encode([c.question for c in cards]), dtype=np.float32)
    sims = np.triu(vectors @ vectors.T, k=1)
    return [
        f"near-duplicate questions ({sims[i, j]:.2f}): {cards[i].id} {cards[i].question!r} / "
        f"{cards[j].id} {cards[j].question!r}"
        for i, j in np.argwhere(sims >= NEAR_DUPLICATE)
    ]


def load_all_cards() -> list[Card]:
    cards: list[Card] = []
    for path in sorted((ROOT / "cards").rglob("*.yaml")):
        try:
            cards += _validate_list(path, Card, _read_yaml(path))
        except KnowledgeError:
            continue
    return cards


def main(argv: list[str]) -> int:
    near = "--near" in argv
    argv = [a for a in argv if a != "--near"]
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "cards").rglob("*.yaml"))
    problems = card_problems(paths, whole_bank=not argv)
    if near:
        from bot.settings import Settings  # loads the embedding model only when asked
        from bot.study.embedding import Embedder

        problems += near_duplicates(load_all_cards(), Embedder(Settings().resolved_embedding_model()).encode)
    for line in problems:
        print(line)
    n = sum(len(_read_yaml(p) or []) for p in paths)
    print(f"{n} cards in {len(paths)} files: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
