"""Grading quality on labelled answers written apart from the grader (bench/data/grading/).

The set was written by a separate pass that never saw the grader's code or thresholds: per question
(bank items, and typed questions that the answer cards cover) a strong answer worded differently from
the rubric, a partial one, confidently wrong ones in the right vocabulary (swapped terms, reversed
stance, wrong numbers, wrong mechanism, negation), and keyword salad, injections, off-topic answers,
copies and empty answers. Labels: correct / partial / incorrect.

Two-fold cross-validation by question: the verdict scorer (grading.scorer, gradient-boosted trees over
answer-level features) is trained on one half of the questions and reported on the other, both ways
round; the rule alone (no scorer) is reported too. A naive baseline (a key point counts as covered
when half its words appear in the answer; its two verdict thresholds tuned on the same half) is
reported beside every figure. ``--write-weights`` then trains on every answer and installs the
weights (bot/study/grading/scorer.json); tools/train_grader.py does just that.

Usage: python bench/grading_eval.py [--misses] [--data DIR] [--write-weights] [--set DIR] [--held-out DIR]

--set DIR (repeatable) chooses the labelled sets: bench/data/grading_v2, _v3 and _v4 were written
later by other passes. --held-out DIR (repeatable) names sets that are never trained on: the scorer
trained on every --set answer is reported on them, beside the baseline and the rule, so a set kept
blind until the end gives one honest figure. The installed grader is reported too, with the sets its
weights were trained on (in-sample when those include the sets measured).
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import yaml
from common import REPO, machine, summary_ms, temp_settings

from bot.app import build_services
from bot.study.errors import CannotGrade
from bot.study.grading import Rubric, Verdict
from bot.study.grading.claims import content_terms
from bot.study.grading.grader import FEATURES, Analysis, OfflineGrader, features, findings
from bot.study.grading.reading import addresses_grader
from bot.study.grading.scorer import WEIGHTS, Scorer, fit

DATA = REPO / "bench" / "data" / "grading"
WRONG = {"swapped", "reversed", "wrong-number", "wrong-mechanism", "negated"}
JUNK = {"salad", "injection", "empty"}


@dataclass
class Row:
    area: str
    question_key: str
    question: str
    label: Verdict
    kind: str
    text: str
    rubric: Rubric | None = None
    analysis: Analysis | None = None


def load(data: Path = DATA) -> list[Row]:
    rows: list[Row] = []
    for path in sorted(data.glob("*.yaml")):
        for q in yaml.safe_load(path.read_text(encoding="utf-8")):
            key = q.get("question_id") or q["question"]
            for a in q["answers"]:
                rows.append(Row(path.stem, key, q["question"], Verdict(a["label"]), a["kind"], a.get("text") or ""))
    return rows


def folds(rows: Sequence[Row], seed: int = 11) -> tuple[list[Row], list[Row]]:
    """Two halves of the questions (stratified by area): no question is on both sides."""
    rng = random.Random(seed)
    a: set[str] = set()
    for area in sorted({r.area for r in rows}):
        keys = sorted({r.question_key for r in rows if r.area == area})
        rng.shuffle(keys)
        a |= set(keys[0::2])
    return [r for r in rows if r.question_key in a], [r for r in rows if r.question_key not in a]


@dataclass
class Figures:
    n: int = 0
    agree: int = 0
    wrong_n: int = 0
    wrong_incorrect: int = 0
    wrong_correct: int = 0
    strong_n: int = 0
    strong_correct: int = 0
    strong_incorrect: int = 0
    junk_n: int = 0
    junk_incorrect: int = 0

    def add(self, row: Row, verdict: Verdict) -> None:
        self.n += 1
        self.agree += verdict is row.label
        if row.kind in WRONG:
            self.wrong_n += 1
            self.wrong_incorrect += verdict is Verdict.incorrect
            self.wrong_correct += verdict is Verdict.correct
        if row.kind == "strong":
            self.strong_n += 1
            self.strong_correct += verdict is Verdict.correct
            self.strong_incorrect += verdict is Verdict.incorrect
        if row.kind in JUNK:
            self.junk_n += 1
            self.junk_incorrect += verdict is Verdict.incorrect

    def merge(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def objective(self) -> float:
        """Agreement, with the two errors a learner minds most counted again: a confidently wrong
        answer praised as correct, a strong answer failed as incorrect."""
        return (self.agree - 2 * self.wrong_correct - 2 * self.strong_incorrect) / max(self.n, 1)

    def row(self) -> str:
        def share(a: int, b: int) -> str:
            return f"{a / b:.3f}" if b else "-"

        return (
            f"agreement={share(self.agree, self.n)} | confidently wrong -> incorrect "
            f"{share(self.wrong_incorrect, self.wrong_n)}, -> correct {self.wrong_correct}/{self.wrong_n} | "
            f"strong -> correct {share(self.strong_correct, self.strong_n)}, -> incorrect "
            f"{self.strong_incorrect}/{self.strong_n} | salad/injection/empty -> incorrect "
            f"{share(self.junk_incorrect, self.junk_n)} (n={self.n})"
        )


def naive(row: Row, correct_at: float, partial_at: float) -> Verdict:
    """The baseline: the share of key points with at least half their words in the answer."""
    assert row.rubric is not None
    text = row.text.strip()
    if not text or addresses_grader(text):
        return Verdict.incorrect
    said = set(content_terms(text))
    covered = 0
    for point in row.rubric.key_points:
        terms = set(content_terms(point))
        covered += bool(terms) and len(terms & said) / len(terms) >= 0.5
    score = covered / len(row.rubric.key_points)
    return Verdict.correct if score >= correct_at else Verdict.partial if score >= partial_at else Verdict.incorrect


Judge = Callable[[Row], Verdict]


def figures(judge: Judge, rows: Sequence[Row]) -> Figures:
    f = Figures()
    for r in rows:
        f.add(r, judge(r))
    return f


def answer_features(grader: OfflineGrader, row: Row) -> np.ndarray | None:
    """The scorer's features for one analysed answer (None when nothing in it can be graded)."""
    a = row.analysis
    if a is None or a.nothing is not None:
        return None
    return features(a, grader.params, findings(a, grader.params))


def train(grader: OfflineGrader, rows: Sequence[Row]) -> Scorer:
    """The scorer fitted on ``rows``, with the margin for "correct" that does best on ``rows`` when each
    half of their questions is scored by trees trained on the other half (``Figures.objective`` counts
    a wrong answer praised, or a right one failed, twice): trees fit their own training answers almost
    perfectly, so a margin chosen on those would say nothing. The objective is averaged over each
    margin and its two neighbours before the best is taken, since it jumps from one margin to the next."""
    scorer = _fit(grader, rows)
    inner = folds(rows, seed=5)
    pairs = [(_fit(grader, inner[0]), inner[1]), (_fit(grader, inner[1]), inner[0])]

    def objective(margin: float) -> float:
        total = Figures()
        for fitted, held in pairs:
            candidate = replace(fitted, margin=margin)
            total.merge(figures(lambda r, s=candidate: _decide(grader, r, s), held))  # type: ignore[misc]
        return total.objective()

    margins = [m / 20 for m in range(0, 16)]
    values = [objective(m) for m in margins]
    smoothed = [float(np.mean(values[max(0, i - 1) : i + 2])) for i in range(len(values))]
    return replace(scorer, margin=margins[int(np.argmax(smoothed))])


def _fit(grader: OfflineGrader, rows: Sequence[Row]) -> Scorer:
    usable = [(answer_features(grader, r), r.label) for r in rows]
    x = np.array([f for f, _ in usable if f is not None])
    y = [label for f, label in usable if f is not None]
    return fit(x, y)


def _decide(grader: OfflineGrader, row: Row, scorer: Scorer | None) -> Verdict:
    """The verdict for an analysed answer: ``scorer``'s, or the rule's alone when it is None (never the
    installed weights, which were trained on every answer here)."""
    assert row.analysis is not None
    return grader.decide(row.analysis, grader.params, scorer, rule=scorer is None).verdict


JUDGES = ("naive baseline", "rule only (no scorer)", "scorer trained on the other half")


def compare(grader: OfflineGrader, train_rows: Sequence[Row], held: Sequence[Row]) -> dict[str, Figures]:
    """The naive baseline (its thresholds tuned on ``train_rows``), the rule alone and the scorer
    trained on ``train_rows``, each reported on ``held``; the figures are printed too."""
    scorer = train(grader, train_rows)
    base = max(
        ((c, p) for c in (0.34, 0.5, 0.6, 0.67, 0.75, 0.8) for p in (0.1, 0.2, 0.25, 0.34, 0.4, 0.5) if p < c),
        key=lambda cp: figures(lambda r: naive(r, *cp), train_rows).objective(),
    )
    judges: dict[str, Judge] = {
        JUDGES[0]: lambda r: naive(r, *base),
        JUDGES[1]: lambda r: _decide(grader, r, None),
        JUDGES[2]: lambda r: _decide(grader, r, scorer),
    }
    out: dict[str, Figures] = {}
    for name, judge in judges.items():
        out[name] = figures(judge, held)
        print(f"  {name:<34} {out[name].row()}")
    print(f"  (the scorer's margin for 'correct', chosen on the training answers: {scorer.margin:.2f})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--misses", action="store_true", help="print the held-out disagreements")
    parser.add_argument("--data", type=Path, help="reuse this data directory (ingested once)")
    parser.add_argument("--write-weights", action="store_true", help="train on every answer, install the weights")
    parser.add_argument(
        "--set", type=Path, action="append", help="a labelled set, repeatable (default: bench/data/grading)"
    )
    parser.add_argument(
        "--held-out",
        type=Path,
        action="append",
        default=[],
        help="a labelled set never trained on, repeatable: reported with the scorer trained on every --set answer",
    )
    args = parser.parse_args()
    sets: list[Path] = args.set or [DATA]
    settings = temp_settings(**({"data_dir": args.data} if args.data else {}))
    services = build_services(settings)
    # Questions and answers embedded as `studybot` does by default: by the ONNX export, made once per machine.
    print(f"ONNX export: {services.embedder.ensure_export()}")
    services.cards.ensure_ready()
    grader = services.grader
    rows = [row for data in sets for row in load(data)]
    blind = [row for data in args.held_out for row in load(data)]
    cannot: Counter[str] = Counter()
    for row in [*rows, *blind]:
        try:
            if row.question_key in grader.rubrics.by_id:
                row.rubric = grader.rubric_for_item(grader.item(row.question_key))
            else:
                row.rubric = grader.rubric_for_question(row.question)
        except CannotGrade:
            cannot[row.question_key] += 1
    graded = [r for r in rows if r.rubric is not None]
    blind_graded = [r for r in blind if r.rubric is not None]
    started = time.perf_counter()
    seconds: list[float] = []
    for row in [*graded, *blind_graded]:
        t = time.perf_counter()
        assert row.rubric is not None
        row.analysis = grader.offline.analyse(row.rubric, row.text)
        grader.offline.decide(row.analysis, grader.offline.params, rule=True)
        seconds.append(time.perf_counter() - t)
    analysed = time.perf_counter() - started

    print(f"machine: {machine()}")
    questions = {r.question_key for r in rows}
    print(f"labelled answers: {len(rows)} to {len(questions)} questions, {dict(Counter(r.label.value for r in rows))}")
    if blind:
        print(f"held out (never trained on): {len(blind)} answers to {len({r.question_key for r in blind})} questions")
    print(f"no rubric (the grader says it cannot grade): {sum(cannot.values())} answers to {len(cannot)} questions")
    print(f"grading, first pass (embedding included, rubric vectors cached after first use): {analysed:.1f} s")
    halves = folds(graded)
    totals = {name: Figures() for name in JUDGES}
    for k, (train_rows, held) in enumerate([(halves[0], halves[1]), (halves[1], halves[0])], 1):
        print(f"fold {k}: trained on {len(train_rows)} answers, reported on the other {len(held)}:")
        for name, f in compare(grader.offline, train_rows, held).items():
            totals[name].merge(f)
    print("both held-out halves together:")
    for name, f in totals.items():
        print(f"  {name:<34} {f.row()}")
    if blind_graded:
        print(f"trained on every --set answer ({len(graded)}), reported on the held-out sets ({len(blind_graded)}):")
        compare(grader.offline, graded, blind_graded)
    if grader.offline.scorer is not None:
        installed = figures(lambda r: _decide(grader.offline, r, grader.offline.scorer), graded)
        print(f"installed grader, {grader.offline.scorer.note or 'weights of unknown origin'}:")
        print(f"  {'installed (in-sample if trained here)':<34} {installed.row()}")
    if args.write_weights:
        everything = train(grader.offline, graded)
        names = ", ".join(str(d.resolve().relative_to(REPO)) for d in sets)
        note = f"trained on {len(graded)} labelled answers ({names}) by tools/train_grader.py"
        WEIGHTS.write_text(everything.to_json(FEATURES, note) + "\n", encoding="utf-8")
        grader.offline.scorer = everything
        print(f"weights written to {WEIGHTS.relative_to(REPO)}")
    warm: list[float] = []
    for row in graded[:300]:
        assert row.rubric is not None
        t = time.perf_counter()
        grader.grade(row.rubric, row.text)
        warm.append(time.perf_counter() - t)
    print(f"grade latency, warm (rubric vectors cached), CPU: {summary_ms(warm)}")
    print(f"first-pass latency: {summary_ms(seconds)}")
    if args.misses:
        print("disagreements of the installed grader (its weights were trained on all of these answers):")
        for row in graded:
            v = grader.offline.decide(row.analysis).verdict if row.analysis else Verdict.incorrect
            if v is not row.label:
                print(
                    f"  {row.label.value:>9} -> {v.value:<9} [{row.kind}] {row.question_key[:40]}: {row.text[:110]!r}"
                )


if __name__ == "__main__":
    main()
