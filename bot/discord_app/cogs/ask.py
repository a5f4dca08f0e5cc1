"""/ask and @mention questions, answered with numbered sources."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import render
from bot.discord_app.client import RESTARTING
from bot.discord_app.views import feedback_view
from bot.study.errors import StudybotError
from bot.study.questions import clean_question

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot

log = logging.getLogger(__name__)


class Ask(commands.Cog):
    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot

    @app_commands.command(name="ask")
    @app_commands.describe(question="Your question, in your own words", private="Only you see the answer")
    async def ask(self, interaction: discord.Interaction[StudyBot], question: str, private: bool = False) -> None:
        """Ask a question about ML engineering; the answer cites the study notes."""
        q = clean_question(question, self.bot.services.settings.max_question_chars)
        await interaction.response.defer(thinking=True, ephemeral=private)
        answer = await self.bot.services.answers_for(interaction.guild_id).ask(q)
        embeds = render.answer_embeds(answer)
        await interaction.followup.send(embeds=embeds[:10], view=feedback_view(), ephemeral=private)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer '@studybot question' in enabled channels; a reply to an answer is a follow-up."""
        me = self.bot.user
        if message.author.bot or message.guild is None or me is None:
            return
        previous = _replied_answer(message, me.id)
        if me not in message.mentions and previous is None:
            return
        if not self.bot.track_handler():
            return
        channels = await self.bot.services.db.mention_channels(str(message.guild.id))
        if str(message.channel.id) not in channels:
            return
        if self.bot.shutting_down:
            await message.reply(RESTARTING, mention_author=False)
            return
        wait = self.bot.limiter.hit(message.author.id)
        if wait:
            await message.reply(f"Slow down a little: ask again in {wait:.0f} s.", mention_author=False)
            return
        text = re.sub(rf"<@!?{me.id}>", "", message.content).strip()
        self.bot.services.metrics.commands.labels("mention").inc()
        try:
            q = clean_question(text, self.bot.services.settings.max_question_chars)
            # A follow-up keeps the conversation's context: retrieval sees the earlier question too.
            query = f"{previous} {q}" if previous else q
            async with message.channel.typing():
                answer = await self.bot.services.answers_for(message.guild.id).ask(query[:2000])
            answer.question = q
        except StudybotError as exc:
            self.bot.services.metrics.errors.labels(type(exc).__name__).inc()
            await message.reply(str(exc), mention_author=False)
            return
        embeds = render.answer_embeds(answer)
        await message.reply(embeds=embeds[:10], view=feedback_view(), mention_author=False)


def _replied_answer(message: discord.Message, bot_id: int) -> str | None:
    """The question of our answer that this message replies to, if it does."""
    ref = message.reference
    resolved = ref.resolved if ref is not None else None
    if isinstance(resolved, discord.Message) and resolved.author.id == bot_id:
        return render.question_title(resolved)
    return None


async def setup(bot: StudyBot) -> None:
    await bot.add_cog(Ask(bot))
