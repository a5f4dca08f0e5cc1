"""Answer quality on questions written apart from the answers: today's composer, a naive baseline and
the new composer side by side, on the same questions and the same retrieval, in one run.

The questions (bench/data/answer_eval/) were written from the syllabus alone by a separate pass that
never saw the notes or the cards: each names the concepts a good answer must mention, and a
definition question the terms of its subject. The card threshold is tuned on one half of the
questions and reported on the other, both ways round (two folds); every figure below is on the
held-out halves.

Figures per composer:
- concepts: share of in-scope answers that mention every required concept;
- direct: share whose first sentence answers (a definition: the subject and is/are/means; other
  kinds: a required concept in sentence one);
- idk: in-scope questions answered "I don't know"; empty: empty answers;
- refused: off-topic questions refused (bench/data/answer_eval/off_topic.yaml and tests/data/off_topic.yaml);
- meta: answers whose body holds a file path or a sentence about the notes.

Usage: python bench/answer_eval.py [--data DIR] [--show N] [--misses] [--set DIR]

--set bench/data/answer_eval_v2 and --set bench/data/answer_eval_v3 run a second and a third set, each
written later by another pass that saw only the syllabus. Both were blind when written; docs/benchmarks.md
says what was changed since with their answers in view.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from baselines import LegacyExtractiveComposer, first_sentences
from common import REPO, machine, summary_ms, temp_settings

from bot.app import Services, build_services
from bot.study.answering import Answer, ComposerSettings, MatchWeights
from bot.study.answering.composer import Composer, is_meta
from bot.study.retrieval import Passage
from bot.study.text import split_sentences
from ingest.pipeline import ingest

DATA = REPO / "bench" / "data" / "answer_eval"
_CITE = re.compile(r"\s*\[\d{1,2}\]")
_DEFINES = re.compile(r"\b(is|are|means|refers to|measures|describes|stands for)\b", re.IGNORECASE)


@dataclass
class Item:
    id: str
    question: str
    kind: str
    topic: str
    concepts: list[list[str]]
    subject: list[str]
    previous: str = ""
    in_scope: bool = True


@dataclass
class Prepared:
    """What the composers share for one question: the retrieval and the card matches, computed once."""

    item: Item
    searched: str
    passages: list[Passage]
    answered: str = ""  # a follow-up: the card that answered the previous question (not given again)


def mentions(text: str, alternative: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(alternative.lower()), text.lower()) is not None


def body(answer: Answer) -> str:
    return _CITE.sub("", answer.text).strip()


def concepts_ok(item: Item, answer: Answer) -> bool:
    text = body(answer)
    return answer.grounded and all(any(mentions(text, alt) for alt in concept) for concept in item.concepts)


def direct_ok(item: Item, answer: Answer) -> bool:
    if not answer.grounded:
        return False
    sentences = split_sentences(body(answer))
    if not sentences:
        return False
    first = sentences[0]
    if item.kind == "definition" and item.subject:
        return any(mentions(first, s) for s in item.subject) and bool(_DEFINES.search(first))
    return any(any(mentions(first, alt) for alt in concept) for concept in item.concepts)


def has_meta(answer: Answer) -> bool:
    return any(is_meta(s) for s in split_sentences(body(answer))) or ".md" in answer.text


def load_items(data: Path = DATA) -> tuple[list[Item], list[Item]]:
    raw = yaml.safe_load((data / "questions.yaml").read_text(encoding="utf-8"))
    items = [
        Item(
            r["id"], r["question"], r["kind"], r["topic"], r["must_mention"], r.get("subject") or [],
            r.get("previous") or "",
        )
        for r in raw
    ]  # fmt: skip
    off: list[str] = yaml.safe_load((data / "off_topic.yaml").read_text(encoding="utf-8"))
    off += yaml.safe_load((REPO / "tests" / "data" / "off_topic.yaml").read_text(encoding="utf-8"))
    off_items = [Item(f"off{i:03d}", q, "off-topic", "", [], [], in_scope=False) for i, q in enumerate(off)]
    return items, off_items


def halves(items: Sequence[Item], seed: int = 7) -> tuple[list[Item], list[Item]]:
    """Two halves stratified by kind (fixed seed): tune on one, report the other."""
    rng = random.Random(seed)
    a: list[Item] = []
    b: list[Item] = []
    for kind in sorted({i.kind for i in items}):
        group = [i for i in items if i.kind == kind]
        rng.shuffle(group)
        a += group[0::2]
        b += group[1::2]
    return a, b


@dataclass
class Scores:
    n: int = 0
    concepts: int = 0
    direct: int = 0
    idk: int = 0
    empty: int = 0
    meta: int = 0
    off_n: int = 0
    refused: int = 0

    def add(self, item: Item, answer: Answer) -> None:
        if not item.in_scope:
            self.off_n += 1
            self.refused += not answer.grounded
            return
        self.n += 1
        self.concepts += concepts_ok(item, answer)
        self.direct += direct_ok(item, answer)
        self.idk += not answer.grounded
        self.empty += not body(answer)
        self.meta += has_meta(answer)

    def objective(self) -> float:
        """What tuning maximizes: concepts and direct answers, less in-scope "I don't know" and
        off-topic questions answered (each counted as a share)."""
        missed_off = (self.off_n - self.refused) / max(self.off_n, 1)
        return (self.concepts + self.direct - self.idk) / max(self.n, 1) - 2 * missed_off

    def row(self) -> str:
        n = max(self.n, 1)
        return (
            f"concepts={self.concepts / n:.3f} direct={self.direct / n:.3f} idk={self.idk / n:.3f} "
            f"empty={self.empty} meta={self.meta} refused={self.refused}/{self.off_n} (n={self.n})"
        )


Compose = Callable[[Prepared], Answer]


def score(compose: Compose, prepared: Sequence[Prepared]) -> Scores:
    s = Scores()
    for p in prepared:
        s.add(p.item, compose(p))
    return s


def _cross_validate(
    items: Sequence[Item],
    off_items: Sequence[Item],
    prepared: Sequence[Prepared],
    grid: Sequence[tuple[float, MatchWeights]],
    new: Callable[[tuple[float, MatchWeights]], Compose],
    composers: dict[str, Compose],
) -> None:
    """Two folds: the new composer's settings tuned on one half, every composer reported on the other."""
    a_items, b_items = halves(items)
    a_off, b_off = halves(off_items)
    by_id = {p.item.id: p for p in prepared}
    folds = [
        ([by_id[i.id] for i in a_items + a_off], [by_id[i.id] for i in b_items + b_off]),
        ([by_id[i.id] for i in b_items + b_off], [by_id[i.id] for i in a_items + a_off]),
    ]
    totals = {name: Scores() for name in (*composers, "new composer")}
    chosen = []
    for k, (tune, held) in enumerate(folds, 1):
        best = max(grid, key=lambda c: score(new(c), tune).objective())
        chosen.append(best)
        print(f"fold {k}: tuned on {len(tune)} questions, reported on the other {len(held)}:")
        for name, compose in (*composers.items(), ("new composer", new(best))):
            s = score(compose, held)
            print(f"  {name:<32} {s.row()}")
            t = totals[name]
            for f in ("n", "concepts", "direct", "idk", "empty", "meta", "off_n", "refused"):
                setattr(t, f, getattr(t, f) + getattr(s, f))
    print("both held-out halves together:")
    for name, t in totals.items():
        print(f"  {name:<32} {t.row()}")
    for k, (threshold, weights) in enumerate(chosen, 1):
        print(f"fold {k} chose card_threshold={threshold} subject_penalty={weights.subject_penalty} "
              f"kind_penalty={weights.kind_penalty}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, help="reuse this data directory (ingested once)")
    parser.add_argument("--show", type=int, default=0, help="print N random held-out answers of the new composer")
    parser.add_argument("--misses", action="store_true", help="print the held-out questions the new composer misses")
    parser.add_argument("--set", type=Path, default=DATA, help="the question set (default: bench/data/answer_eval)")
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="no tuning: every question at the installed defaults (honest only for a set they were never tuned on)",
    )
    args = parser.parse_args()
    settings = temp_settings(**({"data_dir": args.data} if args.data else {}))
    services: Services = build_services(settings)
    ingest([settings.knowledge_dir], settings, services.store, services.embedder)
    print(f"ONNX export: {services.embedder.ensure_export()}")  # as `studybot` embeds questions by default
    services.cards.ensure_ready()
    items, off_items = load_items(args.set)
    answers = services.answers

    started = time.perf_counter()
    prepared: list[Prepared] = []
    previous_answer: dict[str, Answer] = {}
    for item in [*items, *off_items]:
        subject, card = "", ""
        if item.previous:  # the new composer carries the previous turn's subject; the baselines cannot
            if item.previous not in previous_answer:
                previous_answer[item.previous] = answers.ask_sync(item.previous)
            before = previous_answer[item.previous]
            subject, card = before.subject, before.card_id or ""
        inputs = answers._inputs(item.question, subject, card, None)  # as the service asks: follow-up, shorthand
        searched, answered = inputs["searched"], inputs["answered"]
        passages = services.retriever.retrieve(searched)
        services.embedder.embed_query(searched)  # cached for the card matching below
        prepared.append(Prepared(item, searched, passages, answered))
    seconds = time.perf_counter() - started
    raw = {p.item.id: services.retriever.retrieve(p.item.question) for p in prepared if p.item.previous}

    base = answers.settings
    legacy = LegacyExtractiveComposer(base.min_relevance)
    default_weights = services.cards.weights
    weight_grid = [
        replace(default_weights, subject_penalty=sp, kind_penalty=kp) for sp in (0.0, 0.15, 0.3, 0.5)
        for kp in (0.0, 0.06, 0.12)
    ]  # fmt: skip
    matches: dict[MatchWeights, dict[str, list]] = {}
    for weights in [default_weights] if args.defaults else weight_grid:
        services.cards.weights = weights
        matches[weights] = {
            p.item.id: services.cards.match(p.searched, services.embedder.embed_query(p.searched)) for p in prepared
        }
    services.cards.weights = default_weights

    Config = tuple[float, MatchWeights]

    def new(config: Config) -> Compose:
        threshold, weights = config
        composer = Composer(replace(base, card_threshold=threshold), services.cards, answers.composer.scope)
        return lambda p: composer.compose(
            p.searched,
            p.passages,
            matches[weights][p.item.id],
            answers._section,
            answered=p.answered,
            asked=p.item.question,
        )

    def old(p: Prepared) -> Answer:
        return legacy.compose(p.item.question, raw.get(p.item.id, p.passages))

    def naive(p: Prepared) -> Answer:
        return first_sentences(p.item.question, raw.get(p.item.id, p.passages), base.min_relevance)

    print(f"machine: {machine()}")
    print(f"{len(items)} in-scope questions ({sum(1 for i in items if i.previous)} follow-ups), "
          f"{len(off_items)} off-topic; {len(services.cards)} answer cards")  # fmt: skip
    print(f"retrieval + card matching for every question: {1000 * seconds / len(prepared):.1f} ms/question")
    default: Config = (ComposerSettings().card_threshold, default_weights)
    composers = {"today's composer": old, "naive: top passage, 3 sentences": naive}
    if args.defaults:
        print(f"every question at the installed defaults (card_threshold={default[0]}, no tuning):")
        for name, compose in (*composers.items(), ("new composer", new(default))):
            print(f"  {name:<32} {score(compose, prepared).row()}")
    else:
        _cross_validate(items, off_items, prepared, grid=[
            (round(0.36 + 0.02 * i, 2), w) for i in range(25) for w in weight_grid
        ], new=new, composers=composers)  # fmt: skip
        print(f"defaults: card_threshold={default[0]} subject_penalty={default_weights.subject_penalty} "
              f"kind_penalty={default_weights.kind_penalty}")  # fmt: skip

    latencies: list[float] = []
    for p in prepared[:200]:
        started = time.perf_counter()
        new(default)(p)
        latencies.append(time.perf_counter() - started)
    print(f"compose only (retrieval done): {summary_ms(latencies)}")

    held_new = new(default)
    if args.misses:
        for p in prepared:
            if not p.item.in_scope:
                a = held_new(p)
                if a.grounded:
                    print(f"  answered off-topic: {p.item.question!r} -> {a.card_id}")
                continue
            a = held_new(p)
            if not concepts_ok(p.item, a) or not direct_ok(p.item, a):
                flags = ("" if concepts_ok(p.item, a) else "C") + ("" if direct_ok(p.item, a) else "D")
                print(f"  [{flags}] {p.item.id} {p.item.kind}: {p.searched!r} -> {a.card_id or a.composer}: "
                      f"{body(a)[:150]!r}")  # fmt: skip
    if args.show:
        rng = random.Random(1)
        for p in rng.sample([p for p in prepared if p.item.in_scope], args.show):
            a = held_new(p)
            sources = [c.passage.label for c in a.citations]
            print(f"\nQ ({p.item.kind}): {p.searched}\nA: {a.text}\n   sources: {sources}")


if __name__ == "__main__":
    main()
