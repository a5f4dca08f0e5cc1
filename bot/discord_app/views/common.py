"""What every view shares: the interaction type and how a Discord user is keyed in the store."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    pass

Interaction = discord.Interaction["StudyBot"]


def user_key(user: discord.abc.User) -> str:
    return f"discord:{user.id}"


NEVER = r"(?!)"  # the template of a base class that is never registered itself
SID = r"(?P<sid>[0-9a-f]{32})"  # a stored session's id inside a custom id


class SessionButton(discord.ui.DynamicItem[discord.ui.Button["discord.ui.View"]], template=NEVER):
    """A button that acts on one stored session. Its custom id is ``<prefix>:<session id>``, so it
    keeps working after a restart. A subclass sets ``prefix``, ``label`` and ``style``, and passes
    ``template=rf"<prefix>:{SID}"``."""

    prefix = ""
    label = ""
    style = discord.ButtonStyle.secondary

    def __init__(self, sid: str) -> None:
        super().__init__(discord.ui.Button(label=self.label, style=self.style, custom_id=f"{self.prefix}:{sid}"))
        self.sid = sid

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SessionButton:  # type: ignore[override]
        return cls(match["sid"])
