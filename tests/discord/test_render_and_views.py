"""Pure pieces of the Discord layer: message splitting, embeds within limits, rate limits, view timeouts."""

from __future__ import annotations

from typing import Any

import discord

from bot.discord_app import render
from bot.discord_app.ratelimit import RateLimiter
from bot.discord_app.views import ConfirmView
from bot.study.answering import Answer, Citation
from bot.study.retrieval import Passage


def test_split_for_discord_respects_the_limit_and_keeps_paragraphs() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 150 for i in range(12)]
    text = "\n\n".join(paragraphs)
    parts = render.split_for_discord(text, 2000)
    assert all(len(p) <= 2000 for p in parts) and len(parts) > 3
    assert all(p.startswith("Paragraph") for p in parts)  # cuts fall between paragraphs
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())  # nothing lost
    giant = "x" * 4500
    assert [len(p) for p in render.split_for_discord(giant, 2000)] == [2000, 2000, 500]
    assert render.split_for_discord("", 2000) == []


def test_answer_embeds_stay_inside_discord_limits() -> None:
    passage = Passage("1", "text", "knowledge/notes/x.md", "Title", "Section " * 40, 0.8)
    answer = Answer("q" * 400, "Sentence. " * 900, [Citation(n, passage) for n in range(1, 30)])
    embeds = render.answer_embeds(answer)
    assert len(embeds) >= 3
    for embed in embeds:
        assert len(embed.description or "") <= 4096
        assert all(len(f.value or "") <= 1024 for f in embed.fields)
    assert len(embeds[0].title or "") <= 256
    assert embeds[-1].fields[0].name == "Sources"


def test_an_answer_to_a_neighbouring_question_names_it_above_the_title() -> None:
    passage = Passage("1", "text", "knowledge/notes/x.md", "Title", "Section", 0.8)
    answer = Answer("what's the None in the output shape", "It prints every layer. [1]", [Citation(1, passage)])
    assert render.answer_embeds(answer)[0].author.name is None
    answer.closest = "What does model.summary() show in Keras?"
    first = render.answer_embeds(answer)[0]
    assert first.author.name == "Closest question I have an answer for: What does model.summary() show in Keras?"
    assert first.title == answer.question


def test_rate_limiter_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.hit(1) == 0 and limiter.hit(1) == 0
    assert 59 < limiter.hit(1) <= 60  # the third action within a minute waits
    assert limiter.hit(2) == 0  # other users are not affected
    now[0] = 61
    assert limiter.hit(1) == 0


async def test_confirm_view_disables_its_buttons_on_timeout() -> None:
    edits: list[Any] = []

    class Message:
        async def edit(self, **kwargs: Any) -> None:
            edits.append(kwargs["view"])

    view = ConfirmView(42, confirm_label="Delete my data", timeout=60)
    view.message = Message()  # type: ignore[assignment]
    await view.on_timeout()  # what discord.py calls when the minute is up
    assert edits and all(isinstance(c, discord.ui.Button) and c.disabled for c in edits[0].children)
    assert view.confirmed is None


def test_an_interview_prompt_shows_its_deadline_where_discord_renders_it() -> None:
    from datetime import UTC, datetime

    from bot.study.interview import Prompt

    deadline = datetime(2026, 12, 3, 18, 30, tzinfo=UTC)
    prompt = Prompt(
        "s", 2, 5, "iv-1", "Design a feature store.", "Design a feature store.", False, ("u1",), ("Ada",),
        deadline, "mlops", "feature-stores", "senior", "system_design",
    )  # fmt: skip
    embed = render.interview_prompt_embed(prompt).to_dict()
    footer = embed["footer"]["text"]
    assert "<t:" not in footer and "_" not in footer and "feature stores · senior · system design" in footer
    [field] = embed["fields"]
    stamp = int(deadline.timestamp())
    assert field["name"] == "Answer by" and field["value"] == f"<t:{stamp}:t> (<t:{stamp}:R>)"


def test_interview_feedback_shows_how_the_follow_up_went() -> None:
    from bot.study.grading import Verdict
    from bot.study.interview import AnswerFeedback, Outcome

    def feedback(outcome: Outcome | None, own: str = "") -> dict[str, Any]:
        fb = AnswerFeedback(
            "s", 1, "iv-1", "What is dropout?", "regularization", "u1", "Ada", Verdict.partial, 0.5,
            ["Dropout zeroes units."], ["It is off at inference."], [], "Partly right.", "Model.", ["Note > Section"],
            follow_up="What happens at inference?" if outcome else None, follow_up_outcome=outcome,
            follow_up_feedback=own,
        )  # fmt: skip
        return render.interview_feedback_embed(fb).to_dict()

    answered = feedback(Outcome.answered, "Your follow-up added: it is off at inference.")
    assert answered["fields"][0] == {
        "name": "Follow-up",
        "value": "*What happens at inference?*\nYour follow-up added: it is off at inference.",
        "inline": False,
    }
    assert feedback(Outcome.skipped)["fields"][0]["value"].endswith("Skipped.")
    assert feedback(Outcome.timeout)["fields"][0]["value"].endswith("No answer in time.")
    assert all(f["name"] != "Follow-up" for f in feedback(None).get("fields", []))


def test_interview_feedback_is_one_compact_embed_with_the_model_answer_a_click_away() -> None:
    from bot.study.grading import Verdict
    from bot.study.interview import AnswerFeedback, Outcome

    missed = [f"Key point number {i} that the answer did not mention, stated in a long sentence." for i in range(6)]
    source = "Regularization: L1, L2, dropout and early stopping > How dropout works"
    feedback = (
        "Partly right. You covered 1 of 7 key points. You got: “dropout zeroes units”. You said “dropout is on "
        "at inference”; in fact: it is off at inference. Missing: " + "; ".join(missed[:3]) + f" (and 3 more). "
        f"Read: {source}."
    )
    fb = AnswerFeedback(
        "s", 2, "iv-1", "What is dropout?", "regularization", "u1", "Ada", Verdict.partial, 0.3,
        ["Dropout zeroes units."], missed, [], feedback, "A model answer. " * 40, [source],
        follow_up="What happens at inference?", follow_up_outcome=Outcome.skipped,
    )  # fmt: skip
    embed = render.interview_feedback_embed(fb)
    data = embed.to_dict()
    assert len(embed) <= render.FEEDBACK_LIMIT
    assert "Read:" not in data["description"] and data["footer"]["text"] == f"Read: {source}"  # once
    assert "in fact: it is off at inference" in data["description"]  # the correction stays
    assert [f["name"] for f in data.get("fields", [])] == ["Follow-up"]  # no Covered / Missed / model answer walls
    revealed = render.model_answer_text(fb)
    assert "A model answer." in revealed and all(p in revealed for p in missed)
    assert len(revealed) <= render.MESSAGE_LIMIT


def test_a_quiz_result_does_not_repeat_its_verdict() -> None:
    from bot.study.quiz import QuizResult

    result = QuizResult(
        "q1", "u1", "an answer", False, 0.5, "partial", "Because.", "Note > Section", "The model answer.",
        "Partly right. You covered 1 of 2 key points. Read: Note > Section.",
    )  # fmt: skip
    text = render.quiz_result_embed(result).description or ""
    assert text.count("Partly right") == 1 and text.count("Read:") == 0
