"""Buttons, selects and modals.

Quiz and answer controls are ``DynamicItem``s: their custom ids carry what they act on (a session id,
a card id), so they keep working after a restart (the session itself is in the database).
Short-lived confirmations are ordinary views that disable themselves on timeout. Every item checks
who may use it.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.discord_app.views.answers import FeedbackButton, RelatedQuestionButton, answer_view
from bot.discord_app.views.common import Interaction, user_key
from bot.discord_app.views.confirm import ConfirmView
from bot.discord_app.views.flashcards import FLASHCARD_ITEMS
from bot.discord_app.views.quiz import QUIZ_ITEMS, quiz_message
from bot.discord_app.views.reminders import ReminderButton

DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    *QUIZ_ITEMS,
    *FLASHCARD_ITEMS,
    FeedbackButton,
    RelatedQuestionButton,
    ReminderButton,
)

__all__ = ["DYNAMIC_ITEMS", "ConfirmView", "Interaction", "answer_view", "quiz_message", "user_key"]
