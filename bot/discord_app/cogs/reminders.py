"""/reminders on|off: an opt-in daily reminder (a DM, or a message in a chosen channel) when reviews are due.

The process that runs shard 0 (or the only process) sends them: a loop looks every
``reminder_check_seconds`` for reminders whose hour has come, and sends each at most once a day.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.discord_app.views import user_key
from bot.discord_app.views.reminders import reminder_message

if TYPE_CHECKING:
    from bot.discord_app.client import StudyBot

log = logging.getLogger(__name__)


class Reminders(commands.GroupCog, group_name="reminders"):
    """Daily reminders when reviews are due."""

    def __init__(self, bot: StudyBot) -> None:
        self.bot = bot
        self._round: asyncio.Task[int] | None = None
        super().__init__()

    async def cog_load(self) -> None:
        shards = self.bot.services.settings.shard_id_list()
        if shards is None or 0 in shards:  # one process sends them
            self.check.change_interval(seconds=self.bot.services.settings.reminder_check_seconds)
            self.check.start()

    async def cog_unload(self) -> None:
        self.check.cancel()
        if self._round is not None:
            await asyncio.wait([self._round], timeout=5)

    @app_commands.command(name="on")
    @app_commands.describe(
        hour="From which hour (UTC, 0-23) the day's reminder may come; default 17",
        channel="Remind me in this channel instead of a direct message",
    )
    async def on(
        self,
        interaction: discord.Interaction[StudyBot],
        hour: app_commands.Range[int, 0, 23] = 17,
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Turn on a daily reminder when quiz questions or flashcards are due (off by default)."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        group = str(interaction.guild_id) if interaction.guild_id else None
        await self.bot.services.reminders.turn_on(
            user_key(interaction.user), interaction.user.display_name, hour=hour,
            channel_id=str(channel.id) if channel else None, group_id=group,
        )  # fmt: skip
        where = f"in {channel.mention}" if channel else "as a direct message"
        await interaction.followup.send(
            f"Daily reminders are on: once a day from {hour:02d}:00 UTC, {where}, only when something is due. "
            "`/reminders off` turns them off.",
            ephemeral=True,
        )

    @app_commands.command(name="off")
    async def off(self, interaction: discord.Interaction[StudyBot]) -> None:
        """Turn your daily reminder off."""
        was_on = await self.bot.services.reminders.turn_off(user_key(interaction.user))
        text = "Daily reminders are off." if was_on else "Daily reminders were not on."
        await interaction.response.send_message(text + " `/reminders on` turns them on.", ephemeral=True)

    @tasks.loop(seconds=300)
    async def check(self) -> None:
        self._round = asyncio.create_task(self.send_due(), name="reminders")
        await asyncio.shield(self._round)  # see cog_unload

    async def send_due(self, at: datetime | None = None) -> int:
        """Send every reminder due now; how many went out."""
        reminders = self.bot.services.reminders
        sent = 0
        for reminder, due in await reminders.to_send(at or datetime.now(UTC)):
            embed, view = reminder_message(due)
            uid = int(reminder.user_id.split(":", 1)[1])
            try:
                if reminder.channel_id is None:
                    user = self.bot.get_user(uid) or await self.bot.fetch_user(uid)
                    await user.send(embed=embed, view=view)
                else:
                    channel = self.bot.get_channel(int(reminder.channel_id))
                    if channel is None:
                        channel = await self.bot.fetch_channel(int(reminder.channel_id))
                    assert isinstance(channel, discord.abc.Messageable)
                    await channel.send(
                        f"<@{uid}>", embed=embed, view=view,
                        allowed_mentions=discord.AllowedMentions(users=[discord.Object(uid)]),
                    )  # fmt: skip
                sent += 1
            except (discord.HTTPException, AssertionError):
                log.warning("could not send a reminder to %s", reminder.user_id, exc_info=True)
            await reminders.sent(reminder.user_id, at)  # tried once today, whatever happened
        return sent


async def setup(bot: StudyBot) -> None:
    await bot.add_cog(Reminders(bot))
