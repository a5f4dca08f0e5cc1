"""What every view shares: the interaction type and how a Discord user is keyed in the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

if TYPE_CHECKING:
    pass

Interaction = discord.Interaction["StudyBot"]


def user_key(user: discord.abc.User) -> str:
    return f"discord:{user.id}"
