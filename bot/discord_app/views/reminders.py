"""The daily reminder's message and its two buttons: start the reviews, or turn reminders off."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.discord_app import render
from bot.discord_app.client import report_error
from bot.discord_app.views.common import Interaction, user_key
from bot.discord_app.views.flashcards import start_cards
from bot.discord_app.views.quiz import quiz_message
from bot.study.reminders import DueNow

Button = discord.ui.Button["discord.ui.View"]


def reminder_message(due: DueNow) -> tuple[discord.Embed, discord.ui.View]:
    embed = discord.Embed(
        title="Time for today's reviews",
        description=f"You have {due.describe()} due. A few minutes now keeps them from slipping away.",
        colour=render.COLOUR,
    )
    embed.set_footer(text="You get this once a day when something is due. Turn it off below or with /reminders off.")
    view = discord.ui.View(timeout=None)
    view.add_item(ReminderButton("start"))
    view.add_item(ReminderButton("off"))
    return embed, view


class ReminderButton(discord.ui.DynamicItem[Button], template=r"sbrm:(?P<what>start|off)"):
    """Acts for whoever clicks it (a reminder in a channel names one learner, but anyone may start)."""

    def __init__(self, what: str) -> None:
        label, style = (
            ("Start my reviews", discord.ButtonStyle.primary) if what == "start"
            else ("Turn reminders off", discord.ButtonStyle.secondary)
        )  # fmt: skip
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"sbrm:{what}"))
        self.what = what

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReminderButton:  # type: ignore[override]
        return cls(match["what"])

    async def callback(self, interaction: Interaction) -> None:
        try:
            services = interaction.client.services
            user = user_key(interaction.user)
            if self.what == "off":
                await services.reminders.turn_off(user)
                await interaction.response.send_message(
                    "Daily reminders are off. `/reminders on` turns them back on.", ephemeral=True
                )
                return
            await interaction.response.defer(ephemeral=True, thinking=True)
            due = await services.reminders.due_now(user)
            if due.flashcards or not due.quiz:  # flashcards first; with nothing due, new cards
                embed, view = await start_cards(interaction, None, None, None)
            else:
                session = await services.quizzes.review(
                    user, interaction.user.display_name, count=10, channel_id=str(interaction.channel_id)
                )
                embed, view = quiz_message(interaction.client, session)
            await interaction.followup.send(embed=embed, view=view, ephemeral=True)
        except Exception as exc:
            await report_error(interaction, exc)
