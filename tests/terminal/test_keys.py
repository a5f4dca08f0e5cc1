"""Ctrl-C and Ctrl-D at a prompt leave at once, saving a quiz or an interview first; both carry on later.

Driven through a pseudo-terminal, where the keys mean what they mean to a learner: Ctrl-C is a
SIGINT from the terminal driver, Ctrl-D an end of input on an empty line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.terminal.pty_process import CTRL_C, CTRL_D, PtyProcess

REPO = Path(__file__).resolve().parents[2]
LEAVE_WITHIN_S = 1.0  # from the key to the end of the process
JAX = "quiz on JAX: jit, grad, vmap, pure functions"

pytestmark = pytest.mark.slow


@pytest.fixture
def studybot(tmp_path: Path) -> Iterator[Callable[..., PtyProcess]]:
    """Start `studybot ARGS` on a pty; every process started is gone after the test."""
    env = {
        **os.environ,
        "STUDYBOT_DATA_DIR": str(tmp_path / "data"),
        "STUDYBOT_KNOWLEDGE_DIR": str(REPO / "knowledge"),
        "STUDYBOT_USER": "kim",
        "TERM": "xterm",
    }
    started: list[PtyProcess] = []

    def start(*args: str) -> PtyProcess:
        started.append(PtyProcess(list(args), env, tmp_path))
        return started[-1]

    yield start
    for process in started:
        process.close()


def leave_with(process: PtyProcess, key: bytes) -> int:
    """Press ``key`` at the prompt on screen; the exit status, which must come within LEAVE_WITHIN_S."""
    pressed = time.monotonic()
    process.send(key)
    status = process.wait(timeout=LEAVE_WITHIN_S)
    took = time.monotonic() - pressed
    assert status is not None, f"still running {took:.1f} s after {key!r}; the screen:\n{process.text[-2000:]}"
    return status


def test_ctrl_c_and_ctrl_d_in_a_quiz_save_it_and_the_next_quiz_carries_on(
    studybot: Callable[..., PtyProcess],
) -> None:
    quiz = studybot("quiz", "--topic", "jax", "--type", "true_false", "--count", "2")
    quiz.expect("quiz 1/2")
    quiz.expect("answer>")
    quiz.send(b"true\n")
    quiz.expect("quiz 2/2")
    quiz.expect("answer>")
    assert leave_with(quiz, CTRL_C) == 130
    assert f"Saved your {JAX}, at question 2 of 2. To carry on: /quiz in chat, or studybot quiz." in quiz.text
    assert "Traceback" not in quiz.text

    again = studybot("quiz")  # no option: the saved quiz, where it was left
    again.expect(f"Carrying on with your {JAX}, at question 2 of 2.")
    again.expect("answer>")
    assert leave_with(again, CTRL_D) == 0
    assert f"Saved your {JAX}, at question 2 of 2." in again.text

    last = studybot("quiz")
    last.expect(f"Carrying on with your {JAX}, at question 2 of 2.")
    last.expect("answer>")
    last.send(b"false\n")
    last.expect("Quiz summary:")
    assert last.wait(timeout=30) == 0


def test_ctrl_d_and_ctrl_c_in_chat(studybot: Callable[..., PtyProcess]) -> None:
    chat = studybot("chat")
    chat.expect("you>", timeout=180)
    assert leave_with(chat, CTRL_D) == 0
    assert "bye" in chat.text

    chat = studybot("chat")
    chat.expect("you>", timeout=180)
    chat.send(b"/quiz jax 2\n")
    chat.expect("answer>")
    assert leave_with(chat, CTRL_C) == 130  # out of the quiz and out of chat at once
    assert f"Saved your {JAX}, at question 1 of 2." in chat.text and "bye" in chat.text

    chat = studybot("chat")
    chat.expect("you>", timeout=180)
    chat.send(b"/quiz\n")
    chat.expect(f"Carrying on with your {JAX}, at question 1 of 2.")
    chat.expect("answer>")
    chat.send(b"/stop\n")
    chat.expect("you>")
    chat.send(b"quit\n")  # the bare word leaves too, like /quit
    assert chat.wait(timeout=30) == 0 and "Traceback" not in chat.text


def test_ctrl_c_in_an_interview_answer_saves_the_interview(studybot: Callable[..., PtyProcess]) -> None:
    interview = studybot("interview", "--topic", "svm", "--questions", "3")
    interview.expect("an empty line sends it")
    interview.expect("you>")
    interview.send(b"A first line of an answer\n")
    interview.expect("...>")  # the answer goes on until an empty line
    assert leave_with(interview, CTRL_C) == 130
    saved = "Saved your mock interview on Support vector machines and the kernel trick, at question 1 of 3."
    assert saved in interview.text and "Scorecard" not in interview.text

    again = studybot("interview")
    again.expect("Carrying on with your mock interview on Support vector machines and the kernel trick, at question 1")
    again.expect("you>")
    again.send(b"/end\n")
    again.expect("Interview ended early")
    assert again.wait(timeout=30) == 0 and "Traceback" not in again.text
