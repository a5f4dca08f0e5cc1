"""Daily reminders over a real store: off by default, sent once a day from the chosen hour, only when due."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.study.errors import InvalidSessionOptions
from bot.study.reminders import DueNow, ReminderService
from bot.study.store import AttemptRecord, Store

DAY = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
async def reminders(tmp_path: Path) -> AsyncIterator[ReminderService]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/r.db")
    yield ReminderService(store, quiz_items=["q1", "q2"], flashcards=["f-c01"])
    await store.close()


async def _due(store: Store, user: str, item: str, when: datetime) -> None:
    await store.record_attempt(AttemptRecord(user, item, "quiz", "a", "t", 0.0, False, when - timedelta(minutes=1)),
                               card={"card_id": 1}, due=when)  # fmt: skip


async def test_a_reminder_goes_once_a_day_from_its_hour_and_only_when_something_is_due(
    reminders: ReminderService,
) -> None:
    store = reminders.store
    await store.ensure_user("u1", "Ann")
    await _due(store, "u1", "q1", DAY + timedelta(hours=6))
    assert await reminders.to_send(DAY + timedelta(hours=20)) == []  # off by default

    await reminders.turn_on("u1", "Ann", hour=18, channel_id=None)
    assert await reminders.to_send(DAY + timedelta(hours=17, minutes=59)) == []  # not the hour yet
    [(reminder, due)] = await reminders.to_send(DAY + timedelta(hours=18, minutes=5))
    assert reminder.user_id == "u1" and reminder.channel_id is None and due == DueNow(quiz=1, flashcards=0)
    await reminders.sent("u1", DAY + timedelta(hours=18, minutes=5))
    assert await reminders.to_send(DAY + timedelta(hours=23)) == []  # once a day
    assert len(await reminders.to_send(DAY + timedelta(days=1, hours=18))) == 1  # and again the next day

    await reminders.turn_on("u2", "Bob", hour=0, channel_id="555", group_id="g")
    assert [r.user_id for r, _ in await reminders.to_send(DAY + timedelta(days=1, hours=20))] == ["u1"]  # u2: none due
    assert DueNow(2, 1).describe() == "2 quiz questions and 1 flashcard"

    assert await reminders.turn_off("u1") is True and await reminders.turn_off("u1") is False
    assert await reminders.to_send(DAY + timedelta(days=2, hours=20)) == []
    with pytest.raises(InvalidSessionOptions):
        await reminders.turn_on("u1", hour=24)


async def test_a_reminder_is_exported_and_deleted_with_the_user(reminders: ReminderService) -> None:
    await reminders.turn_on("u1", "Ann", hour=7, channel_id="42", group_id="g")
    assert (await reminders.store.export_user("u1"))["reminder"]["hour"] == 7
    await reminders.store.delete_user("u1")
    assert await reminders.store.reminder("u1") is None
