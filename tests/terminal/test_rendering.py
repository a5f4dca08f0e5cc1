"""What the terminal shows: passages from the best score down, long sources wrapped under themselves."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console

from bot.study.answering import Answer
from bot.study.answering.model import Citation
from bot.study.grading import Grade, Verdict
from bot.study.interview import AnswerFeedback, Outcome
from bot.study.quiz import QuizResult
from bot.study.retrieval import Passage
from bot.terminal.interview import render_feedback
from bot.terminal.quiz import render_result
from bot.terminal.rendering import render_answer, render_grade, render_results

WIDTH = 60
TITLE, SECTION = "Regularization in deep networks", "Dropout at inference time, and why activations are scaled"
LABEL = f"{TITLE} > {SECTION}"


def _screen(draw: Callable[..., None], *args: object) -> list[str]:
    out = io.StringIO()
    draw(Console(file=out, width=WIDTH, color_system=None), *args)
    return out.getvalue().splitlines()


def _passage(score: float, n: int = 1) -> Passage:
    return Passage(f"id{n}", f"passage text {n}", f"notes/n{n}.md", TITLE, SECTION, score)


def _continued(lines: list[str], label: str) -> tuple[int, list[str]]:
    """Where the text after ``label`` starts, and the lines that carry it on (until a blank one or the box)."""
    start = next(i for i, line in enumerate(lines) if line.lstrip("│ ").startswith(label))
    column = lines[start].index(label) + len(label) + 1
    rest = []
    for line in lines[start + 1 :]:
        body = line.strip("│ ")
        if not body or line.lstrip("│ ").startswith(("✓", "✗", "read:", "Source:", "Read:", "╰")):
            break
        rest.append(line)
    return column, rest


def _wraps_under_itself(lines: list[str], label: str) -> None:
    column, rest = _continued(lines, label)
    assert rest, f"nothing wrapped after {label!r}:\n" + "\n".join(lines)
    for line in rest:
        assert line[:column].strip("│ ") == "" and line[column] != " ", "\n".join(lines)


def test_passages_are_listed_from_the_best_score_down() -> None:
    lines = _screen(render_results, "why dropout", [_passage(0.52, 1), _passage(0.71, 2), _passage(0.33, 3)])
    scores = [float(word) for line in lines for word in line.replace("│", " ").split() if word.startswith("0.")]
    assert scores == [0.71, 0.52, 0.33]
    rows = [line.split("│")[1].strip() for line in lines if line.startswith("│") and line.split("│")[1].strip()]
    assert rows == ["1", "2", "3"]


def test_a_long_source_wraps_under_itself() -> None:
    result = QuizResult("q1", "u", "A", False, 0.0, "incorrect", "Dropout is off at inference.", LABEL, "B. off")
    _wraps_under_itself(_screen(render_result, result), "Source:")

    grade = Grade(Verdict.partial, 0.5, ["a covered point"], ["a missed point"], [], "Close.", "", [LABEL, LABEL])
    _wraps_under_itself(_screen(render_grade, grade), "Read:")

    feedback = AnswerFeedback(
        session_id="s", number=1, question_id="q", question="Why?", topic="dropout", user_id="u", name="",
        verdict=Verdict.partial, score=0.5, covered=["a covered point"], missed=["a missed point"], red_flags=[],
        feedback="Close.", model_answer="Because.", sources=[LABEL], outcome=Outcome.answered,
        answered_at=datetime(2025, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    _wraps_under_itself(_screen(render_feedback, feedback), "read:")

    answer = Answer("why dropout", "Dropout is off at inference [1].", [Citation(1, _passage(0.7))])
    _wraps_under_itself(_screen(render_answer, answer), "[1]")


def test_an_answer_to_a_neighbouring_question_says_which_question_it_answers() -> None:
    answer = Answer("what's the None in the output shape", "It prints every layer [1].", [Citation(1, _passage(0.7))])
    assert not any("Closest question" in line for line in _screen(render_answer, answer))
    answer.closest = "What does model.summary() show in Keras?"
    lines = _screen(render_answer, answer)
    said = next(i for i, line in enumerate(lines) if "Closest question I have an answer for:" in line)
    box = next(i for i, line in enumerate(lines) if "answer" in line and "╭" in line)
    assert said < box and "model.summary()" in " ".join(lines[said:box])


def test_interview_feedback_names_where_to_read_once() -> None:
    """The grade's feedback ends with "Read: ..." below "correct": the panel does not repeat it."""
    feedback = AnswerFeedback(
        session_id="s", number=1, question_id="q", question="Why?", topic="dropout", user_id="u", name="",
        verdict=Verdict.partial, score=0.5, covered=["a covered point"], missed=["a missed point"], red_flags=[],
        feedback="Partly right. Missing: a missed point. Read: Dropout > Inference.", model_answer="Because.",
        sources=["Dropout > Inference"], outcome=Outcome.answered, answered_at=datetime(2025, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    text = "\n".join(_screen(render_feedback, feedback))
    assert text.count("Inference") == 1 and "read:" not in text
