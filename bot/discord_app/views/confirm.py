"""A yes / cancel confirmation for one user that disables itself after a minute."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.discord_app.client import report_error
from bot.discord_app.views.common import Interaction

log = logging.getLogger(__name__)


class ConfirmView(discord.ui.View):
    """Yes / cancel for one user; the buttons disable themselves after a minute."""

    def __init__(self, user_id: int, *, confirm_label: str, timeout: float = 60) -> None:
        super().__init__(timeout=timeout)
        self.user_id = user_id
        self.confirmed: bool | None = None
        self.message: discord.Message | discord.InteractionMessage | None = None
        self.confirm.label = confirm_label

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        if interaction.user.id != self.user_id:
            await interaction.response.send_message("This is not your confirmation.", ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        self.confirmed = True
        await interaction.response.defer()
        self.stop()

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        self.confirmed = False
        await interaction.response.defer()
        self.stop()

    async def on_timeout(self) -> None:
        for child in self.children:
            if isinstance(child, discord.ui.Button):
                child.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                log.debug("could not disable an expired confirmation", exc_info=True)

    async def on_error(self, interaction: Interaction, error: Exception, item: discord.ui.Item[Any]) -> None:  # type: ignore[override]
        await report_error(interaction, error)
