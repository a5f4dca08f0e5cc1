"""Sharding: an AutoShardedBot in process over three shards, and two `studybot run` processes with a shard each."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app import Services
from bot.discord_app.client import ShardedStudyBot, StudyBot, build_bot
from bot.settings import Settings
from bot.terminal.app import app
from tests.discord.conftest import BotStarter, LogWatch
from tests.discord.fake_discord import JSON, WAIT, FakeDiscord, FakeGuild, FakeInteraction, guild_id_on_shard
from tests.discord.processes import StudybotProcess, studybot_env


async def _identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py waits 5 s between shards (Discord's identify rate limit); the fake has no such limit."""


def _spread_guilds(fake: FakeDiscord, shard_count: int) -> list[FakeGuild]:
    """The default guild (on shard 0) and one more guild on each other shard: guild i is on shard i."""
    more = [fake.world.add_guild(guild_id_on_shard(i, shard_count), f"Group {i}") for i in range(1, shard_count)]
    return [fake.guild, *more]


async def _ask(fake: FakeDiscord, guild: FakeGuild) -> tuple[FakeInteraction, JSON]:
    interaction = await fake.slash("ask", {"question": "How does dropout work during training?"},
                                   channel=guild.text_channels[0])  # fmt: skip
    return interaction, await fake.wait_for_followup(interaction, timeout=WAIT)


async def test_an_auto_sharded_bot_answers_each_guild_on_the_shard_of_that_guild(
    fake_discord: FakeDiscord, start_bot: BotStarter, bot_services: Callable[..., Services], log_watch: LogWatch,
) -> None:  # fmt: skip
    fake = fake_discord
    fake.grant_intents("message_content")
    guilds = _spread_guilds(fake, 3)
    bot = build_bot(bot_services(shard_count=3))
    assert isinstance(bot, ShardedStudyBot) and isinstance(bot, StudyBot)
    bot.before_identify_hook = _identify_at_once  # type: ignore[method-assign]
    await start_bot(bot, timeout=WAIT)

    assert sorted(i["shard"] for i in fake.identifies) == [[0, 3], [1, 3], [2, 3]]
    assert {g.id: g.shard_id for g in bot.guilds} == {g.id: i for i, g in enumerate(guilds)}
    # on_ready logs a moment after is_ready() turns true (discord.py schedules it as a task): wait for it.
    assert "to 3 servers on shards [0, 1, 2] of 3" in await log_watch.wait_for("connected as", timeout=WAIT)
    for shard_id, guild in enumerate(guilds):
        interaction, answer = await _ask(fake, guild)
        assert [s.shard for s in interaction.received_by] == [(shard_id, 3)]  # only that shard's connection
        assert "dropout" in str(answer["embeds"]).lower()


async def test_auto_shard_count_follows_discords_recommendation(
    fake_discord: FakeDiscord, start_bot: BotStarter, bot_services: Callable[..., Services]
) -> None:
    fake_discord.grant_intents("message_content")
    fake_discord.recommended_shards = 2
    bot = build_bot(bot_services(shard_count="auto"))
    assert isinstance(bot, ShardedStudyBot) and bot.shard_count is None  # asks GET /gateway/bot
    bot.before_identify_hook = _identify_at_once  # type: ignore[method-assign]
    await start_bot(bot, timeout=WAIT)
    assert sorted(i["shard"] for i in fake_discord.identifies) == [[0, 2], [1, 2]]
    assert bot.shard_count == 2 and bot.connection_problem() is None


async def test_a_plain_bot_without_shard_settings(bot_services: Callable[..., Services]) -> None:
    bot = build_bot(bot_services())
    try:
        assert type(bot) is StudyBot and bot.shard_count is None
    finally:
        await bot.services.aclose()


@pytest.mark.slow
async def test_two_processes_each_run_their_own_shard(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    fake = fake_discord
    fake.grant_intents("message_content")
    guilds = _spread_guilds(fake, 2)
    processes = [
        StudybotProcess(studybot_env(fake_discord_env, tmp_path / f"data{i}", shard_count="2", shard_ids=str(i)),
                        tmp_path)
        for i in (0, 1)
    ]  # fmt: skip
    async with processes[0] as first, processes[1] as second:
        await asyncio.gather(*(fake.wait_until_connected(shard=i, timeout=90) for i in (0, 1)))
        sessions = {s.shard[0]: s.session_id for s in fake.sessions}
        assert sorted(i["shard"] for i in fake.identifies) == [[0, 2], [1, 2]]
        for shard_id, (process, guild) in enumerate(zip((first, second), guilds, strict=True)):
            assert f"this process runs shards [{shard_id}] of 2" in process.log
            topics = await fake.slash("topics", channel=guild.text_channels[0])
            reply = await fake.wait_for_callback(topics, timeout=WAIT)
            assert reply.ephemeral and reply.data["embeds"][0]["title"] == "Study areas and topics"
            # The command went to the connection of the guild's shard only, and that is this process's.
            assert [s.session_id for s in topics.received_by] == [sessions[shard_id]]
            assert sessions[shard_id] in process.log and sessions[1 - shard_id] not in process.log
        # The process that runs shard 0 syncs the commands; the other leaves them alone.
        assert len(fake.find_requests("PUT", r"/applications/\d+/commands")) == 1
        assert "commands are synced by the process that runs shard 0" in second.log
        for process in (first, second):
            process.send_signal(signal.SIGTERM)
        codes = await asyncio.gather(first.wait(timeout=WAIT), second.wait(timeout=WAIT))
    assert codes == [0, 0]
    for process in (first, second):
        assert "studybot shut down cleanly" in process.log and "Traceback" not in process.log
        assert "test-token" not in process.log


@pytest.fixture
def run_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """What `studybot run` would run the bot with (the runner is replaced, so nothing starts)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STUDYBOT_DATA_DIR", str(tmp_path / "data"))
    seen: list[Settings] = []
    monkeypatch.setattr("bot.discord_app.runner.run", seen.append)
    return seen


def test_run_options_override_the_shard_settings(run_settings: list[Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYBOT_SHARD_COUNT", "2")
    monkeypatch.setenv("STUDYBOT_SHARD_IDS", "0")
    result = CliRunner().invoke(app, ["run", "--shard-count", "4", "--shards", "1-2"])
    assert result.exit_code == 0, result.output
    assert [(s.shard_count, s.shard_id_list()) for s in run_settings] == [(4, [1, 2])]
    assert CliRunner().invoke(app, ["run", "--shard-count", "auto", "--shards", ""]).exit_code == 0
    assert (run_settings[-1].shard_count, run_settings[-1].shard_id_list()) == ("auto", None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shards", "3-1"], "--shards: shard range '3-1' runs backwards"),
        (["--shards", "one"], "--shards: shard ids look like 0-3 or 0,2,5-6, not 'one'"),
        (["--shard-count", "2", "--shards", "2"], "shard ids go from 0 to 1"),
        (["--shards", "0"], "STUDYBOT_SHARD_IDS needs a number in STUDYBOT_SHARD_COUNT"),
        (["--shard-count", "auto", "--shards", "0"], "STUDYBOT_SHARD_IDS needs a number in STUDYBOT_SHARD_COUNT"),
        (["--shard-count", "0"], "--shard-count: a number from 1 to 10000, or auto, not '0'"),
    ],
)
def test_bad_run_options_are_one_line(run_settings: list[Settings], args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["run", *args])
    assert result.exit_code == 2 and run_settings == []
    assert message in result.output and "Traceback" not in result.output
