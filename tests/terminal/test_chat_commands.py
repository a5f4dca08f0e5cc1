"""What the terminal chat reads as a wish to leave (the pty tests drive the rest)."""

from __future__ import annotations

import pytest

from bot.terminal.chat import wants_to_leave


@pytest.mark.parametrize("line", ["/quit", "/exit", "/q", "quit", "Exit", "bye!", " goodbye. "])
def test_leaving_the_chat(line: str) -> None:
    assert wants_to_leave(line)


@pytest.mark.parametrize("line", ["what is a p-value", "quit smoking", "exit criteria for a canary", "/quiz"])
def test_questions_are_not_a_wish_to_leave(line: str) -> None:
    assert not wants_to_leave(line)
