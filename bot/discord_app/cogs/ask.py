"""/ask and @mention questions, answered with numbered sources."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import render
from bot.discord_app.client import RESTARTING
from bot.discord_app.views import answer_view
from bot.study.answering import Answer
from bot.study.errors import StudybotError
from bot.study.questions import clean_question

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot

log = logging.getLogger(__name__)


class Ask(commands.Cog):
    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        # What each learner's last answer in a channel or thread was about: a question there with no
        # subject of its own ("why does it work?") is a follow-up on it. Kept for recent learners only.
        # With it, the card that answered (a follow-up gets another card when one of the kind asked is near).
        self.subjects: OrderedDict[tuple[int, int], tuple[str, str]] = OrderedDict()

    def _previous(self, channel_id: int, user_id: int) -> tuple[str, str]:
        return self.subjects.get((channel_id, user_id), ("", ""))

    def _remember(self, channel_id: int, user_id: int, answer: Answer) -> None:
        if not answer.grounded or not answer.subject:
            return
        key = (channel_id, user_id)
        self.subjects[key] = (answer.subject, answer.card_id or "")
        self.subjects.move_to_end(key)
        while len(self.subjects) > 10_000:
            self.subjects.popitem(last=False)

    @staticmethod
    def _send_args(answer: Answer) -> dict[str, Any]:
        view = answer_view(answer)
        return {"embeds": render.answer_embeds(answer)[:10], **({"view": view} if view else {})}

    @app_commands.command(name="ask")
    @app_commands.describe(question="Your question, in your own words", private="Only you see the answer")
    async def ask(self, interaction: discord.Interaction[StudyBot], question: str, private: bool = False) -> None:
        """Ask a question about ML engineering; the answer cites the study notes."""
        q = clean_question(question, self.bot.services.settings.max_question_chars)
        await interaction.response.defer(thinking=True, ephemeral=private)
        channel_id = interaction.channel_id or 0
        previous, card = self._previous(channel_id, interaction.user.id)
        answer = await self.bot.services.answers_for(interaction.guild_id).ask(q, previous=previous, previous_card=card)
        self._remember(channel_id, interaction.user.id, answer)
        await interaction.followup.send(**self._send_args(answer), ephemeral=private)

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
            # A follow-up is about what the answer it replies to was about, else the learner's last answer here.
            subject, card = self._previous(message.channel.id, message.author.id)
            if previous is not None and previous != subject:  # a reply to an older answer: its subject
                subject, card = previous, ""
            async with message.channel.typing():
                answer = await self.bot.services.answers_for(message.guild.id).ask(
                    q, previous=subject, previous_card=card
                )
        except StudybotError as exc:
            self.bot.services.metrics.errors.labels(type(exc).__name__).inc()
            await message.reply(str(exc), mention_author=False)
            return
        self._remember(message.channel.id, message.author.id, answer)
        await message.reply(**self._send_args(answer), mention_author=False)


def _replied_answer(message: discord.Message, bot_id: int) -> str | None:
    """What our answer that this message replies to was about, if it replies to one."""
    ref = message.reference
    resolved = ref.resolved if ref is not None else None
    if isinstance(resolved, discord.Message) and resolved.author.id == bot_id:
        return render.answer_subject(resolved)
    return None


async def setup(bot: StudyBot) -> None:
    await bot.add_cog(Ask(bot))
