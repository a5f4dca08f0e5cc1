"""The study-engine commands in the terminal: quiz, review, progress, grade, export-data, forget-me."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.study.banks import load_interview_questions

REPO = Path(__file__).resolve().parents[1]
BANK = load_interview_questions(REPO / "knowledge")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STUDYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STUDYBOT_KNOWLEDGE_DIR", str(REPO / "knowledge"))
    monkeypatch.setenv("STUDYBOT_USER", "ada")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return run


def test_quiz_pause_resume_progress_export_and_forget(cli: Callable[..., object], tmp_path: Path) -> None:
    first = cli("quiz", "--topic", "jax", "--type", "true_false", "--count", "2", input="true\n")
    assert first.exit_code == 0, first.output
    assert "quiz 1/2" in first.output and "Quiz paused" in first.output
    assert "Source: JAX" in first.output and ".md" not in first.output  # the note's title and section

    second = cli("quiz", input="maybe\nfalse\n")
    assert second.exit_code == 0, second.output
    assert "Resuming your quiz at question 2/2" in second.output
    assert "Answer true or false." in second.output  # bad input is explained, not fatal
    assert "Quiz summary:" in second.output

    chart = tmp_path / "mastery.png"
    progress = cli("progress", "--chart", str(chart))
    assert progress.exit_code == 0, progress.output
    assert "2 answers" in progress.output and "Deep learning frameworks" in progress.output
    assert chart.read_bytes().startswith(b"\x89PNG")

    exported = json.loads(cli("export-data").stdout)
    assert exported["user"]["id"] == "cli:ada" and len(exported["attempts"]) == 2
    assert {a["topic"] for a in exported["attempts"]} == {"jax"}

    refused = cli("forget-me", input="n\n")
    assert "Nothing deleted" in refused.output
    forgot = cli("forget-me", "--yes")
    assert forgot.exit_code == 0 and "Deleted" in forgot.output
    assert json.loads(cli("export-data").stdout)["attempts"] == []


def test_review_after_a_quiz(cli: Callable[..., object]) -> None:
    cli("quiz", "--topic", "sql", "--type", "mcq", "--count", "1", input="A\n")
    result = cli("review", "--count", "3", input="A\ntrue\n" * 4)  # a bad format is asked again
    assert result.exit_code == 0, result.output
    assert "review 1/3" in result.output and "Quiz summary:" in result.output


def test_quiz_with_impossible_filters_is_a_clear_error(cli: Callable[..., object]) -> None:
    result = cli("quiz", "--topic", "astrology")
    assert result.exit_code == 1 and "No quiz questions match" in result.output
    assert "Traceback" not in result.output


def test_interview_with_an_unknown_topic_is_a_clear_error(cli: Callable[..., object]) -> None:
    result = cli("interview", "--topic", "quantum")
    assert result.exit_code == 1, result.output  # like `studybot quiz`
    assert "error: No interview questions have the topic 'quantum'" in result.output
    assert "Traceback" not in result.output


def test_grade_one_answer_and_a_json_lines_batch(cli: Callable[..., object]) -> None:
    one = cli(
        "grade", "--question", BANK[0].question.lower().rstrip("?"), "--answer", " ".join(BANK[0].key_points), "--json",
    )  # fmt: skip
    assert one.exit_code == 0, one.output
    data = json.loads(one.stdout)
    assert {"verdict", "score", "covered", "missed", "feedback"} <= set(data)
    assert data["verdict"] == "correct" and data["missed"] == []  # matched to the bank item by meaning
    weak = cli("grade", "--question", BANK[0].question, "--answer", BANK[0].key_points[0])
    assert weak.exit_code == 0 and weak.output.count("Read:") == 1, weak.output  # where to read, once
    lines = "\n".join(
        [
            json.dumps({"question": BANK[1].question, "answer": ""}),
            "this is not json",
            json.dumps({"question": "How do I knead bread dough?", "answer": "Push and fold it."}),
        ]
    )
    batch = cli("grade", "-", input=lines + "\n")
    rows = [json.loads(line) for line in batch.stdout.splitlines()]
    assert len(rows) == 3, rows
    assert rows[0].get("verdict") == "incorrect" and rows[0]["score"] == 0, rows[0]
    assert "error" in rows[1]
    assert "can't grade that question reliably" in rows[2]["error"]  # no bank item or card matches


def test_grade_needs_a_question_and_an_answer(cli: Callable[..., object]) -> None:
    result = cli("grade", "--question", "What is dropout?")
    assert result.exit_code == 2 and "--answer" in result.output


def test_topics_lists_every_area(cli: Callable[..., object]) -> None:
    result = cli("topics")
    assert result.exit_code == 0 and "data-engineering" in result.output and "regularization" in result.output


def test_interview_in_the_terminal(cli: Callable[..., object]) -> None:
    question = next(q for q in BANK if q.topic == "regularization")
    answers = " ".join(question.key_points)
    result = cli("interview", "--topic", "regularization", "--questions", "3", input=f"{answers}\n/skip\n/end\n")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "core" in result.output.lower() or "score" in result.output.lower()


def test_study_commands_inside_chat(tmp_path: Path) -> None:
    """The real entry point: /topics, /quiz, /progress and /interview inside one chat session."""
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("studybot")
    env = {**os.environ, "STUDYBOT_DATA_DIR": str(tmp_path / "d"), "STUDYBOT_KNOWLEDGE_DIR": str(REPO / "knowledge"),
           "STUDYBOT_USER": "bo", "COLUMNS": "160"}  # fmt: skip
    # "A" answers any kind of item except true/false, which asks again and takes "true".
    script = "/topics\n/quiz jax 1\nA\ntrue\n/progress\n/quiz astrology\n/interview regularization 3\n/end\n/quit\n"
    out = subprocess.run([str(exe), "chat"], env=env, cwd=tmp_path, input=script, capture_output=True, text=True,
                         timeout=180)  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "data-engineering:" in text  # /topics
    assert "quiz 1/1 · jax" in text and "Quiz summary:" in text  # /quiz
    assert "1 answer, " in text and "Mastery by area" in text  # /progress
    assert "Unknown area or topic 'astrology'" in text  # a typo is explained, the session goes on
    assert "question 1/3 · regularization" in text and "Scorecard" in text  # /interview, ended early
    assert "Traceback" not in text + out.stderr
