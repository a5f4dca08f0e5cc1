"""The study-engine commands in the terminal: quiz, review, progress, grade, export-data, forget-me."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.study.banks import load_interview_questions
from bot.terminal.app import app

REPO = Path(__file__).resolve().parents[1]
BANK = load_interview_questions(REPO / "knowledge")
JAX = "quiz on JAX: jit, grad, vmap, pure functions"


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
    assert "quiz 1/2" in first.output and f"Saved your {JAX}, at question 2 of 2" in first.output
    assert "Source: JAX" in first.output and ".md" not in first.output  # the note's title and section

    second = cli("quiz", input="maybe\nfalse\n")
    assert second.exit_code == 0, second.output
    assert f"Carrying on with your {JAX}, at question 2 of 2." in second.output
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


def _review_of_paused_quiz() -> None:
    """Make the paused quiz of the learner (ada) a review of its questions, as Discord's "Review what I
    missed" does, and close the quiz."""
    from bot.app import build_services
    from bot.settings import Settings

    async def go() -> None:
        services = build_services(Settings(_env_file=None))  # type: ignore[call-arg]
        try:
            paused = await services.quizzes.resumable("cli:ada")
            assert paused is not None
            await services.quizzes.missed_again(paused.id, "ada")
            await services.quizzes.stop(paused.id)
        finally:
            await services.aclose()

    asyncio.run(go())


def test_options_start_a_new_session_and_none_carry_on_the_paused_one(cli: Callable[..., object]) -> None:
    assert "Saved your" in cli("quiz", "--topic", "jax", "--count", "2", input="").output  # input ends: saved
    _review_of_paused_quiz()
    review = cli("review", input="")
    assert review.exit_code == 0 and "Carrying on with your review, at question 1 of 2." in review.output

    quiz = cli("quiz", "--count", "3", input="")  # an option, and another mode: a new quiz
    assert "Carrying on" not in quiz.output and "quiz 1/3" in quiz.output
    assert "Your paused review, at question 1 of 2, is closed" in quiz.output

    again = cli("quiz", input="")  # no option: the paused quiz, not a new one
    assert "Carrying on with your quiz" in again.output and "at question 1 of 3." in again.output
    assert "quiz 1/3" in again.output

    jax = cli("quiz", "--topic", "jax", "--count", "1", input="")
    assert "Carrying on" not in jax.output and "quiz 1/1 · JAX: jit" in jax.output

    # A new session that cannot start (nothing to review yet) says so and leaves the paused one as it was.
    review = cli("review", input="")
    assert review.exit_code == 0 and "Carrying on" not in review.output and "Traceback" not in review.output
    assert "Nothing to review yet" in review.output and "review 1/" not in review.output
    assert f"Carrying on with your {JAX}, at question 1 of 1." in cli("quiz", input="").output


def _make_due(user_id: str) -> None:
    """Bring the learner's reviews forward to two hours ago (fsrs puts them minutes out; tests cannot wait)."""
    from datetime import UTC, datetime, timedelta

    from bot.app import build_services
    from bot.settings import Settings
    from bot.study.store import AttemptRecord

    async def go() -> None:
        services = build_services(Settings(_env_file=None))  # type: ignore[call-arg]
        try:
            for item_id in await services.db.reviewed_items(user_id):
                item, card = services.quizzes.item(item_id), await services.db.card(user_id, item_id)
                assert card is not None
                at = datetime.now(UTC) - timedelta(hours=3)
                due = at + timedelta(hours=1)
                attempt = AttemptRecord(user_id, item_id, "quiz", item.area, item.topic, 0.0, False, at)
                await services.db.record_attempt(attempt, card={**card, "due": due.isoformat()}, due=due)
        finally:
            await services.aclose()

    asyncio.run(go())


def test_review_after_a_quiz(cli: Callable[..., object]) -> None:
    cli("quiz", "--topic", "sql", "--type", "mcq", "--count", "1", input="A\n")
    # Right after the quiz nothing is due yet (fsrs: minutes out): no random questions, but the weak topic.
    early = cli("review", "--count", "3", input="")
    assert early.exit_code == 0, early.output
    assert "Nothing is due for review now; the next one is due in " in early.output and "review 1/" not in early.output
    assert "SQL: joins" in early.output and "studybot quiz --topic sql" in early.output
    _make_due("cli:ada")
    result = cli("review", "--count", "3", input="A\ntrue\n" * 4)  # a bad format is asked again
    assert result.exit_code == 0, result.output
    assert "review 1/3" in result.output and "Quiz summary:" in result.output
    assert "Due for review since 2h ago (SQL: joins" in result.output  # why each question is there
    assert "From SQL: joins" in result.output and ", one of your weakest topics (" in result.output


def test_flashcards_show_rate_pause_and_carry_on(cli: Callable[..., object]) -> None:
    first = cli("flashcards", "--topic", "bias-variance", "--count", "2", input="\nmaybe\ngood\n/stop\n")
    assert first.exit_code == 0, first.output
    assert "2 cards: 0 due for review, 2 new." in first.output
    assert (
        "flashcard 1/2 · Bias-variance trade-off" in first.output
        and "What is the bias-variance trade-off?" in first.output
    )
    assert "The bias-variance trade-off is the tension" in first.output  # shown after Enter
    assert "1 again" in first.output and "4 easy" in first.output  # each rating with when it comes back
    assert "Rate the card: again (1), hard (2), good (3) or easy (4)." in first.output  # 'maybe' explained
    assert "Good: back in " in first.output
    assert "Saved your flashcards at card 2 of 2" in first.output

    second = cli("flashcards", input="\n1\n")
    assert second.exit_code == 0, second.output
    assert "Carrying on with your flashcards, at card 2 of 2." in second.output
    assert "Flashcards done: 2 of 2 rated (Again 1 · Hard 0 · Good 1 · Easy 0)." in second.output
    assert "Your next card is due in " in second.output

    exported = json.loads(cli("export-data").stdout)
    assert [(r["kind"], r["rating"]) for r in exported["reviews"]] == [("flashcard", 3), ("flashcard", 1)]

    progress = cli("progress")
    assert "Flashcards: " in progress.output and "within a day" in progress.output  # counted apart from quizzes

    bad = cli("flashcards", "--topic", "astrology")
    assert bad.exit_code == 1 and "No flashcards match" in bad.output and "Traceback" not in bad.output


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
    result = cli("interview", "--topic", "regularization", "--questions", "3", input=f"{answers}\n\n/skip\n/end\n")
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
    script = (
        "/topics\n/quiz jax 2\n/stop\n/quiz\n/stop\n/quiz jax 1\nA\ntrue\n/progress\n/quiz astrology\n"
        "/interview regularization 3\n/end\n/quit\n"
    )
    out = subprocess.run([str(exe), "chat"], env=env, cwd=tmp_path, input=script, capture_output=True, text=True,
                         timeout=180)  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "data-engineering:" in text  # /topics
    assert f"Saved your {JAX}, at question 1 of 2. To carry on: /quiz in chat" in text  # /stop
    assert f"Carrying on with your {JAX}, at question 1 of 2." in text  # a plain /quiz: the paused one
    assert f"Your paused {JAX}, at question 1 of 2, is closed" in text  # a /quiz with options: a new one
    assert "quiz 1/1 · JAX: jit" in text and "Quiz summary:" in text
    assert "1 answer, " in text and "Mastery by area" in text  # /progress
    assert "Unknown area or topic 'astrology'" in text  # a typo is explained, the session goes on
    assert "question 1/3 · regularization" in text and "Scorecard" in text  # /interview, ended early
    assert "Traceback" not in text + out.stderr
