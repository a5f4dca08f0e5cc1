"""Daily reminders: opt-in, off by default. Once a day, from the hour a learner chose (UTC), one
message when something on their schedule is due (quiz items to review, flashcards); never when
nothing is due, and never twice a day."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.study.errors import InvalidSessionOptions
from bot.study.store import ReminderRecord, Store


@dataclass(frozen=True)
class DueNow:
    quiz: int  # quiz items due for review
    flashcards: int

    @property
    def total(self) -> int:
        return self.quiz + self.flashcards

    def describe(self) -> str:
        """'3 quiz questions and 5 flashcards' (only what is due)."""
        parts = []
        if self.quiz:
            parts.append(f"{self.quiz} quiz question{'s' if self.quiz != 1 else ''}")
        if self.flashcards:
            parts.append(f"{self.flashcards} flashcard{'s' if self.flashcards != 1 else ''}")
        return " and ".join(parts) or "nothing"


class ReminderService:
    def __init__(self, store: Store, quiz_items: Collection[str], flashcards: Collection[str]) -> None:
        self.store = store
        self.quiz_items = set(quiz_items)
        self.flashcards = set(flashcards)

    async def turn_on(
        self, user_id: str, user_name: str = "", *, hour: int, channel_id: str | None = None,
        group_id: str | None = None,
    ) -> ReminderRecord:  # fmt: skip
        if not 0 <= hour <= 23:
            raise InvalidSessionOptions("The hour is a whole number from 0 to 23 (UTC).")
        await self.store.ensure_user(user_id, user_name, group_id)
        reminder = ReminderRecord(user_id, channel_id, group_id, hour)
        await self.store.set_reminder(reminder, user_id)
        return reminder

    async def turn_off(self, user_id: str) -> bool:
        """Turn the reminder off; whether it was on."""
        was_on = await self.store.reminder(user_id) is not None
        await self.store.set_reminder(None, user_id)
        return was_on

    async def due_now(self, user_id: str, at: datetime | None = None) -> DueNow:
        at = at or datetime.now(UTC)
        due = [item for item, when in (await self.store.schedule(user_id)).items() if when <= at]
        return DueNow(sum(i in self.quiz_items for i in due), sum(i in self.flashcards for i in due))

    async def to_send(self, at: datetime | None = None) -> list[tuple[ReminderRecord, DueNow]]:
        """The reminders to send now: their hour has come, none went out today, something is due."""
        at = at or datetime.now(UTC)
        out = []
        for reminder in await self.store.reminders_to_send(at):
            due = await self.due_now(reminder.user_id, at)
            if due.total:
                out.append((reminder, due))
        return out

    async def sent(self, user_id: str, at: datetime | None = None) -> None:
        await self.store.reminder_sent(user_id, (at or datetime.now(UTC)).astimezone(UTC).date().isoformat())
