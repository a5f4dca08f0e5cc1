"""Agreement of the rubric grader with the labelled answers (tests/data/graded_answers.yaml).

Prints the good-vs-wrong agreement (good must grade correct; wrong and adversarial must not), the
confusion matrix of labels against verdicts, per-label accuracy and the grading latency.
Usage: python bench/grading_eval.py [--misses]
"""

from __future__ import annotations

import sys
import time
from collections import Counter

import yaml
from common import REPO, machine, summary_ms, temp_settings

from bot.study import grading
from bot.study.banks import load_interview_questions, load_quiz_items
from bot.study.embedding import Embedder
from bot.study.grading import Grader, Verdict

LABELS = ("good", "partial", "wrong", "adversarial")
VERDICTS = (Verdict.correct, Verdict.partial, Verdict.incorrect)
# What each label should grade as: "good" must be correct, "partial" partial, the others incorrect.
EXPECTED = {"good": Verdict.correct, "partial": Verdict.partial, "wrong": Verdict.incorrect}


def main() -> None:
    settings = temp_settings()
    embedder = Embedder(settings.resolved_embedding_model(), cache_size=0)
    knowledge = settings.knowledge_dir
    grader = Grader(embedder, quiz=load_quiz_items(knowledge), interview=load_interview_questions(knowledge))
    data = yaml.safe_load((REPO / "tests" / "data" / "graded_answers.yaml").read_text(encoding="utf-8"))
    embedder.load()
    grader.grade(grader.rubric_for_item(grader.item(data[0]["item_id"])), data[0]["answer"])  # warm-up

    counts: Counter[tuple[str, Verdict]] = Counter()
    seconds: list[float] = []
    misses: list[str] = []
    for row in data:
        rubric = grader.rubric_for_item(grader.item(row["item_id"]))
        started = time.perf_counter()
        grade = grader.grade(rubric, row["answer"])
        seconds.append(time.perf_counter() - started)
        counts[row["label"], grade.verdict] += 1
        bad = (row["label"] == "good") != (grade.verdict is Verdict.correct)
        if bad or (row["label"] == "partial" and grade.verdict is not Verdict.partial):
            answer = " ".join(row["answer"].split())[:90]
            misses.append(f"  {row['label']:>11} -> {grade.verdict.value:<9} {row['item_id']}: {answer!r}")

    total = {label: sum(counts[label, v] for v in VERDICTS) for label in LABELS}
    good_ok = counts["good", Verdict.correct]
    bad_ok = sum(total[label] - counts[label, Verdict.correct] for label in ("wrong", "adversarial"))
    n_binary = total["good"] + total["wrong"] + total["adversarial"]

    print(f"machine: {machine()}")
    print(
        f"grader: all-MiniLM-L6-v2, cover>={grading.COVER_THRESHOLD} red flag>={grading.RED_FLAG_THRESHOLD} "
        f"(+{grading.RED_FLAG_MARGIN}) correct>={grading.CORRECT_AT} partial>={grading.PARTIAL_AT}"
    )
    print(f"labelled answers: {len(data)} over {len({r['item_id'] for r in data})} questions, {dict(total)}")
    print(
        f"good-vs-wrong agreement: {(good_ok + bad_ok) / n_binary:.3f} "
        f"(good graded correct {good_ok}/{total['good']}; wrong+adversarial graded not correct {bad_ok}/"
        f"{total['wrong'] + total['adversarial']})"
    )
    print("confusion matrix (rows: label, columns: verdict):")
    print(f"  {'':>11} " + " ".join(f"{v.value:>9}" for v in VERDICTS))
    for label in LABELS:
        print(f"  {label:>11} " + " ".join(f"{counts[label, v]:>9}" for v in VERDICTS))
    print("per-label accuracy:")
    for label in LABELS:
        n = total[label]
        if label in ("wrong", "adversarial"):
            not_correct = n - counts[label, Verdict.correct]
            print(
                f"  {label:>11}: not correct {not_correct}/{n} = {not_correct / n:.3f}; "
                f"incorrect {counts[label, Verdict.incorrect]}/{n} = {counts[label, Verdict.incorrect] / n:.3f}"
            )
        else:
            hit = counts[label, EXPECTED[label]]
            print(f"  {label:>11}: {EXPECTED[label].value} {hit}/{n} = {hit / n:.3f}")
    three_way = counts["good", Verdict.correct] + counts["partial", Verdict.partial]
    three_way += counts["wrong", Verdict.incorrect] + counts["adversarial", Verdict.incorrect]
    print(f"three-way accuracy (adversarial and wrong as incorrect): {three_way / len(data):.3f}")
    print(f"grade latency (one batched encode per answer, CPU): {summary_ms(seconds)}")
    if "--misses" in sys.argv:
        print("disagreements:")
        print("\n".join(misses))


if __name__ == "__main__":
    main()
