"""/quiz start and /quiz review: questions with buttons, short answers through a modal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import render
from bot.discord_app.views import quiz_message, user_key
from bot.discord_app.views.quiz import review_offer
from bot.study.quiz import NothingDue

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot

DIFFICULTIES = [app_commands.Choice(name=d, value=d) for d in ("easy", "medium", "hard")]


async def area_autocomplete(interaction: discord.Interaction[StudyBot], current: str) -> list[app_commands.Choice[str]]:
    areas = interaction.client.services.topics.areas
    text = current.lower()
    return [
        app_commands.Choice(name=f"{a.title} ({a.id})"[:100], value=a.id)
        for a in areas
        if text in a.id or text in a.title.lower()
    ][:25]


async def topic_autocomplete(
    interaction: discord.Interaction[StudyBot], current: str
) -> list[app_commands.Choice[str]]:
    topics = interaction.client.services.topics
    area = getattr(interaction.namespace, "area", None)
    text = current.lower()
    return [
        app_commands.Choice(name=f"{t.title}"[:100], value=t.id)
        for a in topics.areas
        if area in (None, "", a.id)
        for t in a.topics
        if text in t.id or text in t.title.lower()
    ][:25]


class Quiz(commands.GroupCog, group_name="quiz"):
    """Quizzes and spaced-repetition reviews."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="start")
    @app_commands.describe(
        area="Study area", topic="Topic within the area", difficulty="easy, medium or hard",
        count="How many questions (1-25)", channel="Everyone in the channel may answer; a ranking at the end",
    )  # fmt: skip
    @app_commands.choices(difficulty=DIFFICULTIES)
    @app_commands.autocomplete(area=area_autocomplete, topic=topic_autocomplete)
    async def start(
        self,
        interaction: discord.Interaction[StudyBot],
        area: str | None = None,
        topic: str | None = None,
        difficulty: str | None = None,
        count: app_commands.Range[int, 1, 25] = 5,
        channel: bool = False,
    ) -> None:
        """Start a quiz (private unless `channel`), or carry on with the one you paused."""
        private = not channel
        await interaction.response.defer(thinking=True, ephemeral=private)
        quizzes = self.bot.services.quizzes
        user = user_key(interaction.user)
        paused = await quizzes.resumable(user)
        options = (area, topic, difficulty, channel) != (None, None, None, False) or interaction.namespace.count
        if paused is not None and not options:
            kind = "review" if paused.mode == "review" else "quiz"
            note = f"Carrying on with your {kind}: question {paused.index + 1} of {paused.total}."
            embed, view = quiz_message(self.bot, paused, note)
            await interaction.followup.send(embed=embed, view=view, ephemeral=True)
            return
        session = await quizzes.start(
            user, interaction.user.display_name, area=area, topic=topic, difficulty=difficulty,
            count=count, channel=channel, group_id=_group(interaction), channel_id=str(interaction.channel_id),
        )  # fmt: skip
        if paused is not None and private:
            await quizzes.stop(paused.id)  # options given: a new quiz replaces the paused one
        note = f"Only {session.total} question(s) match." if session.total < count else ""
        embed, view = quiz_message(self.bot, session, note)
        await interaction.followup.send(embed=embed, view=view, ephemeral=private)

    @app_commands.command(name="review")
    @app_commands.describe(count="How many questions at most (1-25)")
    async def review(
        self, interaction: discord.Interaction[StudyBot], count: app_commands.Range[int, 1, 25] = 10
    ) -> None:
        """Review what is due (spaced repetition), then your weakest topics; only you see it."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        quizzes = self.bot.services.quizzes
        try:
            session = await quizzes.review(
                user_key(interaction.user), interaction.user.display_name, count=count, group_id=_group(interaction),
                channel_id=str(interaction.channel_id),
            )  # fmt: skip
        except NothingDue as nothing:  # no questions picked at random: say so, and offer what would help
            embed, view = review_offer(self.bot, nothing.offer, count)
            await interaction.followup.send(embed=embed, view=view, ephemeral=True)
            return
        reasons = [r for r in (quizzes.reason(session, i) for i in range(session.total)) if r is not None]
        embed, view = quiz_message(self.bot, session, render.review_intro(reasons))
        await interaction.followup.send(embed=embed, view=view, ephemeral=True)


def _group(interaction: discord.Interaction[StudyBot]) -> str | None:
    return str(interaction.guild_id) if interaction.guild_id else None


async def setup(bot: StudyBot) -> None:
    await bot.add_cog(Quiz(bot))
