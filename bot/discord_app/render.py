"""Discord's limits and the shapes of our messages, in one pure module.

Limits: 2,000 characters per message, 4,096 per embed description, 256 per title, 1,024 per field
value, 25 fields, 6,000 characters per embed in all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import discord

from bot.study.answering import Answer
from bot.study.interview import AnswerFeedback, Prompt, Scorecard, WrapUp
from bot.study.progress import MASTERY_MEANING, POINTS_MEANING, Progress, ReviewsDue, TopicProgress
from bot.study.quiz import LETTERS, QuizResult, QuizSummary, ReviewOffer, ReviewReason
from bot.study.store import LeaderboardRow

MESSAGE_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
TITLE_LIMIT = 256
FIELD_LIMIT = 1024
COLOUR = discord.Colour.blurple()
GOOD = discord.Colour.green()
MEH = discord.Colour.gold()
BAD = discord.Colour.red()


def words(slug: str) -> str:
    """A slug as words: ``system_design`` -> ``system design``, ``pytorch-basics`` -> ``pytorch basics``."""
    return slug.replace("_", " ").replace("-", " ")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_for_discord(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split on paragraph boundaries, then sentences, then hard cuts, so that no part exceeds ``limit``."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    current = ""
    for block in re.split(r"\n\s*\n", text):
        pieces = [block] if len(block) <= limit else re.split(r"(?<=[.!?])\s+", block)
        for piece in pieces:
            while len(piece) > limit:
                parts.append(piece[:limit])
                piece = piece[limit:]
            joiner = "\n\n" if current and piece is block else " "
            if current and len(current) + len(joiner) + len(piece) > limit:
                parts.append(current)
                current = piece
            else:
                current = f"{current}{joiner}{piece}" if current else piece
    if current:
        parts.append(current)
    return parts


ABOUT = re.compile(r"about: (.+)$")


def answer_embeds(answer: Answer) -> list[discord.Embed]:
    """The answer in as many embeds as it needs, the last one listing the numbered sources (note
    title and section) and, in the footer, what the answer was about (a reply without a subject of
    its own is a follow-up on it). Related questions are buttons under it (see views.answers)."""
    colour = COLOUR if answer.grounded else MEH
    bodies = split_for_discord(answer.text, DESCRIPTION_LIMIT) or ["(no answer)"]
    embeds = [discord.Embed(description=body, colour=colour) for body in bodies]
    embeds[0].title = clip(answer.question, TITLE_LIMIT)
    if answer.closest:  # a neighbour of the question may be what is answered: say which
        embeds[0].set_author(name=clip(f"Closest question I have an answer for: {answer.closest}", 256))
    sources = "\n".join(f"**[{c.n}]** {c.passage.label}" for c in answer.citations)
    if sources:
        embeds[-1].add_field(name="Sources", value=clip(sources, FIELD_LIMIT), inline=False)
    footer = answer.notice or ("Answered from the study notes." if answer.grounded else "Not in the study notes.")
    if answer.grounded and answer.subject and not answer.notice:
        footer += f" · about: {answer.subject}"
    embeds[-1].set_footer(text=clip(footer, 2048))
    return embeds


def question_title(answer_message: discord.Message) -> str | None:
    """The question an earlier answer of ours was for (its first embed's title)."""
    if answer_message.embeds and answer_message.embeds[0].title:
        return answer_message.embeds[0].title
    return None


def answer_subject(answer_message: discord.Message) -> str:
    """What an earlier answer of ours was about (its footer), else its question; "" if neither."""
    for embed in reversed(answer_message.embeds):
        found = ABOUT.search(embed.footer.text or "") if embed.footer else None
        if found:
            return found.group(1)
    return question_title(answer_message) or ""


def quiz_question_embed(
    number: int, total: int, question: str, choices: list[str], meta: str, kind: str = "Question"
) -> discord.Embed:
    lines = [f"**{LETTERS[i]}.** {choice}" for i, choice in enumerate(choices)]
    embed = discord.Embed(title=clip(f"{kind} {number}/{total}", TITLE_LIMIT), colour=COLOUR)
    embed.description = clip(question + ("\n\n" + "\n".join(lines) if lines else ""), DESCRIPTION_LIMIT)
    embed.set_footer(text=meta)
    return embed


def quiz_result_embed(result: QuizResult, who: str | None = None) -> discord.Embed:
    colour = GOOD if result.correct else MEH if result.verdict == "partial" else BAD
    head = {"correct": "Correct!", "partial": "Partly right."}.get(result.verdict, "Not quite.")
    if who:
        head = f"{who}: {head}"
    # A written answer's score says how much of it was there; a choice is simply right or wrong.
    lines = [f"**{head}**" + (f" (score {result.score:.0%})" if 0 < result.score < 1 else "")]
    feedback = _HEAD.sub("", _READ.sub("", result.feedback))  # the verdict is said once, above
    if not result.correct:
        lines.append(f"**Answer:** {result.right_answer}")
    if feedback:
        lines.append(feedback)
    lines.append(result.explanation)
    embed = discord.Embed(description=clip("\n".join(lines), DESCRIPTION_LIMIT), colour=colour)
    embed.set_footer(text=clip(f"Source: {result.source}", 2048))
    return embed


def quiz_summary_embed(
    summary: QuizSummary,
    names: dict[str, str] | None = None,
    titles: Callable[[str], str] = words,
    title: str = "Quiz finished",
) -> discord.Embed:
    embed = discord.Embed(title=title, colour=COLOUR)
    if summary.ranking and names is not None:
        medals = ["🥇", "🥈", "🥉"]
        lines = [
            f"{medals[i] if i < 3 else f'{i + 1}.'} {names.get(user, user)}: {points:.1f} points ({correct} correct)"
            for i, (user, points, correct) in enumerate(summary.ranking[:20])
        ]
        embed.description = clip("\n".join(lines), DESCRIPTION_LIMIT)
    else:
        skipped = summary.total - summary.answered
        embed.description = f"**{summary.correct}/{summary.answered}** correct" + (
            f", {skipped} skipped." if skipped else "."
        )
        topics = "\n".join(f"{titles(t)}: {ok}/{seen}" for t, (ok, seen) in sorted(summary.by_topic.items()))
        if topics:
            embed.add_field(name="By topic", value=clip(topics, FIELD_LIMIT), inline=False)
        if summary.to_review or skipped:
            embed.set_footer(text="What you missed comes back in /quiz review when it is due.")
    return embed


def when(moment: datetime) -> str:
    """A moment as Discord renders it in each reader's own time ("in 3 hours"); descriptions and fields only."""
    return f"<t:{int(moment.timestamp())}:R>"


def _n(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def reviews_line(
    reviews: ReviewsDue,
    command: str = "/quiz review",
    empty: str = "nothing scheduled yet: what you answer comes back for review",
) -> str:
    """Where the review schedule stands, in words: due now, due within a day, and when the next one comes."""
    if reviews.now:
        later = f", **{reviews.today - reviews.now}** more within a day" if reviews.today > reviews.now else ""
        return f"**{reviews.now}** due now{later} · `{command}`"
    if reviews.today:
        first = f", the first {when(reviews.next_at)}" if reviews.next_at else ""
        return f"none due now; **{reviews.today}** within a day{first}"
    if reviews.next_at:
        return f"none due within a day; the next {when(reviews.next_at)}"
    return empty


def flashcards_line(due: ReviewsDue) -> str:
    return reviews_line(due, "/cards", "none studied yet: `/cards` shows you the first ones")


def _topic_line(t: TopicProgress) -> str:
    return f"{t.title} · {t.mastery:.0%} ({t.correct}/{t.answered} right)"


def progress_embed(progress: Progress, name: str) -> discord.Embed:
    """Totals, streak and reviews in words, the weakest and strongest topics, and what mastery means.
    Mastery per area is in the attached chart only (not repeated here)."""
    embed = discord.Embed(title=clip(f"Progress of {name}", TITLE_LIMIT), colour=COLOUR)
    if not progress.answered:
        embed.description = (
            "No answers yet: `/quiz start` gives you a first quiz, and your mastery fills in as you answer.\n"
            f"Reviews: {reviews_line(progress.reviews)}\n"
            f"Flashcards: {flashcards_line(progress.flashcards)}"
        )
    else:
        embed.description = (
            f"**{progress.answered}** {_n(progress.answered, 'answer')}, **{progress.correct}** right "
            f"({progress.accuracy:.0%}), on {len(progress.topics)} {_n(len(progress.topics), 'topic')} in "
            f"{progress.areas_tried} of {len(progress.areas)} areas\n"
            f"Streak: **{progress.current_streak}** {_n(progress.current_streak, 'day')} "
            f"(longest {progress.longest_streak}), {progress.days_studied} {_n(progress.days_studied, 'day')} studied\n"
            f"Reviews: {reviews_line(progress.reviews)}\n"
            f"Flashcards: {flashcards_line(progress.flashcards)}"
        )
    for title, topics in (("Weakest topics", progress.weakest_topics), ("Strongest topics", progress.strongest_topics)):
        if topics:
            embed.add_field(name=title, value=clip("\n".join(map(_topic_line, topics)), FIELD_LIMIT), inline=False)
    embed.add_field(name="What mastery means", value=clip(MASTERY_MEANING, FIELD_LIMIT), inline=False)
    embed.set_image(url="attachment://mastery.png")
    return embed


def leaderboard_embed(rows: list[LeaderboardRow], guild_name: str, days: int) -> discord.Embed:
    embed = discord.Embed(title=clip(f"Leaderboard of {guild_name} (last {days} days)", TITLE_LIMIT), colour=COLOUR)
    if not rows:
        embed.description = "Nobody has answered anything yet: start with /quiz start."
    else:
        embed.description = clip(
            "\n".join(
                f"**{i}.** {r.name}: {r.points:.1f} points ({r.answered} answers, {r.correct} right)"
                for i, r in enumerate(rows, 1)
            ),
            DESCRIPTION_LIMIT,
        )
    embed.set_footer(text=clip(POINTS_MEANING.format(days=days), 2048))
    return embed


def review_reason_text(reason: ReviewReason, titles: Callable[[str], str] = words) -> str:
    """Why a question is in a review, in a line (a timestamp in it: for descriptions and fields only)."""
    topic = titles(reason.topic)
    if reason.kind == "due" and reason.due_since is not None:
        return f"Due for review since {when(reason.due_since)} ({topic})."
    if reason.kind == "missed":
        return f"You missed this one in your quiz ({topic})."
    if reason.kind == "skipped":
        return f"You skipped this one in your quiz ({topic})."
    if reason.mastery is None:
        return f"From {topic}, a topic you have not tried yet."
    return f"From {topic}, one of your weakest topics ({reason.mastery:.0%} mastery)."


def review_intro(reasons: list[ReviewReason]) -> str:
    """The line above a review's first question: what it holds, and why."""
    due = sum(r.kind == "due" for r in reasons)
    weak = sum(r.kind == "weak" for r in reasons)
    parts = [f"{due} due for review" if due else "", f"{weak} from your weakest topics" if weak else ""]
    held = " and ".join(p for p in parts if p)
    return f"A review of {len(reasons)} question(s)" + (f": {held}." if held else ".")


def nothing_due_embed(offer: ReviewOffer, titles: Callable[[str], str] = words) -> discord.Embed:
    """No review now: say so, when the next one comes, and what to practise instead."""
    embed = discord.Embed(title="Nothing to review right now", colour=COLOUR)
    if not offer.answered:
        embed.description = (
            "A review brings back questions you have answered, when they are due. You have not answered any "
            "yet: take a first quiz (the button below, or `/quiz start` with a topic of your choice)."
        )
        return embed
    lines = ["Nothing is due for review now."]
    if offer.next_due is not None:
        lines[0] = f"Nothing is due for review now; the next review is due {when(offer.next_due)}."
    if offer.weakest:
        lines.append("Meanwhile, practise one of your weakest topics:")
        lines += [f"• {titles(topic)} · mastery {mastery:.0%}" for topic, mastery in offer.weakest]
    else:
        lines.append("Every topic you tried is mastered: `/quiz start` with a new topic takes you further.")
    embed.description = clip("\n".join(lines), DESCRIPTION_LIMIT)
    return embed


def interview_prompt_embed(prompt: Prompt, titles: Callable[[str], str] = words) -> discord.Embed:
    who = ", ".join(prompt.names) if prompt.names else "everyone"
    kind = "Follow-up" if prompt.is_follow_up else f"Question {prompt.number}/{prompt.total}"
    title = clip(f"{kind} for {who}", TITLE_LIMIT)
    embed = discord.Embed(title=title, description=clip(prompt.text, DESCRIPTION_LIMIT), colour=COLOUR)
    if prompt.deadline:  # Discord renders timestamps in fields, not in footers
        at = int(prompt.deadline.timestamp())
        embed.add_field(name="Answer by", value=f"<t:{at}:t> (<t:{at}:R>)", inline=False)
    about = " · ".join([titles(prompt.topic), *(words(part) for part in (prompt.level, prompt.kind))])
    embed.set_footer(text=f"{about}. Type your answer in this thread.")
    return embed


_HEAD = re.compile(r"^(?:Correct|Partly right|Not yet)\.\s*")
FEEDBACK_LIMIT = 1200  # characters in one interview feedback embed, all parts together
_READ = re.compile(r"\s*Read: [^\n]*$")


def interview_feedback_embed(fb: AnswerFeedback) -> discord.Embed:
    """One compact embed: the verdict, what was right and wrong (with the correction), at most three
    missed points, how the follow-up went, and where to read. The model answer is one button away."""
    colour = GOOD if fb.verdict.value == "correct" else MEH if fb.verdict.value == "partial" else BAD
    title = clip(f"Q{fb.number} · {fb.name}: {fb.verdict.value} ({fb.score:.0%})", TITLE_LIMIT)
    read = f"Read: {fb.sources[0]}" if fb.sources else ""
    follow = f"*{fb.follow_up}*\n{fb.follow_up_summary}" if fb.follow_up_summary else ""
    room = FEEDBACK_LIMIT - len(title) - len(read) - len(follow) - 8
    said = _HEAD.sub("", _READ.sub("", fb.feedback))  # the verdict is in the title
    embed = discord.Embed(title=title, description=clip(said, max(room, 200)), colour=colour)
    if follow:
        embed.add_field(name="Follow-up", value=clip(follow, FIELD_LIMIT), inline=False)
    if read:
        embed.set_footer(text=clip(read, 2048))
    return embed


def model_answer_text(fb: AnswerFeedback) -> str:
    """What 'Show model answer' reveals: the strong answer, and every point that was missed."""
    text = f"**A strong answer to Q{fb.number}**\n{fb.model_answer}"
    if fb.missed:
        text += "\n\n**You missed**\n" + "\n".join(f"• {p}" for p in fb.missed)
    return clip(text, MESSAGE_LIMIT)


def interview_answer_embed(name: str, text: str) -> discord.Embed:
    """An answer given through the form, shown in the thread as a typed one would be."""
    embed = discord.Embed(description=clip(text, DESCRIPTION_LIMIT), colour=COLOUR)
    embed.set_author(name=clip(f"{name} answered", 256))
    return embed


def wrap_up_embed(wrap_up: WrapUp, titles: Callable[[str], str] = words) -> discord.Embed:
    """A group interview side by side: standings, and who gave the strongest answer to each question."""
    medals = ["🥇", "🥈", "🥉"]
    lines = [f"{medals[i] if i < 3 else f'{i + 1}.'} {name}: {score:.0%}" for i, (name, score) in
             enumerate(wrap_up.standings)]  # fmt: skip
    embed = discord.Embed(title="Group wrap-up", description=clip("\n".join(lines), DESCRIPTION_LIMIT), colour=COLOUR)
    best = "\n".join(f"Q{n} · {titles(topic)} · {name}, {score:.0%}" for n, topic, name, score in wrap_up.best)
    if best:
        name = "Strongest answer per question" if wrap_up.compared else "Who answered each question"
        embed.add_field(name=name, value=clip(best, FIELD_LIMIT), inline=False)
    return embed


def scorecard_embed(card: Scorecard, titles: Callable[[str], str] = words) -> discord.Embed:
    embed = discord.Embed(title=clip(f"Scorecard: {card.name} · {card.overall:.0%}", TITLE_LIMIT), colour=COLOUR)
    rows = "\n".join(
        f"Q{i.number} · {titles(i.topic)} · {i.verdict.value} ({i.score:.0%}){i.follow_up_note}" for i in card.items
    )
    embed.description = clip(rows or "No question was answered.", DESCRIPTION_LIMIT)
    for name, values in (("Strengths", card.strengths), ("To improve", card.to_improve), ("Read next", card.read_next)):
        if values:
            embed.add_field(name=name, value=clip("\n".join(f"• {v}" for v in values[:6]), FIELD_LIMIT), inline=False)
    return embed
