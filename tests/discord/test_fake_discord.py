"""The fake Discord works: a tiny throwaway discord.py bot logs in, syncs, and answers users through it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.discord.conftest import BotStarter, ErrorCollector
from tests.discord.fake_discord import (
    APPLICATION_ID,
    BOT_ID,
    GENERAL_ID,
    GUILD_ID,
    MEMBER_ID,
    STUDY_ID,
    BotLoggedError,
    FakeDiscord,
    FakeDiscordError,
    guild_id_on_shard,
)

TOPICS = ["dropout", "decision trees", "gradient descent", "precision and recall"]


class QuizView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Yes", custom_id="quiz:yes", style=discord.ButtonStyle.success)
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[QuizView]) -> None:
        await interaction.response.edit_message(content="Good luck!", view=None)

    @discord.ui.button(label="No", custom_id="quiz:no")
    async def no(self, interaction: discord.Interaction, button: discord.ui.Button[QuizView]) -> None:
        await interaction.response.send_message("Maybe later.", ephemeral=True)


class AnswerModal(discord.ui.Modal, title="Your answer"):
    answer: discord.ui.TextInput[AnswerModal] = discord.ui.TextInput(
        label="Answer", custom_id="answer", style=discord.TextStyle.paragraph, max_length=200
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Got: {self.answer.value}", ephemeral=True)


@app_commands.command(description="Check that the bot answers")
async def ping(interaction: discord.Interaction) -> None:
    await interaction.response.send_message(
        f"pong, {interaction.user.mention}", allowed_mentions=discord.AllowedMentions.none()
    )


@app_commands.command(description="Explain a topic after thinking")
@app_commands.describe(topic="What to explain", depth="How deep")
async def explain(interaction: discord.Interaction, topic: str, depth: int = 1, detailed: bool = False) -> None:
    await interaction.response.defer(thinking=True)
    await interaction.followup.send(f"{topic} at depth {depth} (detailed={detailed})")


@app_commands.command(description="Start a quiz")
async def quiz(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("Ready?", view=QuizView())


@app_commands.command(description="Answer in a form")
async def answer(interaction: discord.Interaction) -> None:
    await interaction.response.send_modal(AnswerModal())


async def topic_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=t, value=t) for t in TOPICS if t.startswith(current.lower())]


@app_commands.command(description="Pick a topic")
@app_commands.autocomplete(name=topic_names)
async def topic(interaction: discord.Interaction, name: str) -> None:
    await interaction.response.send_message(f"Topic: {name}")


@app_commands.command(description="Upload notes")
async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
    data = await file.read()
    await interaction.response.send_message(f"{file.filename}: {len(data)} bytes", ephemeral=True)


@app_commands.command(name="thread", description="Open a study thread")
async def open_thread(interaction: discord.Interaction, name: str) -> None:
    assert isinstance(interaction.channel, discord.TextChannel)
    starter = await interaction.channel.send(f"Study session: {name}")
    thread = await starter.create_thread(name=name)
    await thread.send("Welcome!")
    await interaction.response.send_message(f"Opened {thread.mention}", ephemeral=True)


@app_commands.command(name="reset", description="Reset the leaderboard")
@app_commands.default_permissions(manage_guild=True)
async def reset(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("Leaderboard reset.")


@app_commands.command(description="Always fails")
async def broken(interaction: discord.Interaction) -> None:
    raise RuntimeError("boom")


study = app_commands.Group(name="study", description="Study sessions")


@study.command(name="start", description="Start a session")
async def study_start(interaction: discord.Interaction, topic: str, minutes: int = 25) -> None:
    await interaction.response.send_message(f"Studying {topic} for {minutes} min")


GLOBAL_COMMANDS: list[app_commands.Command[Any, ..., Any] | app_commands.Group] = [
    ping,
    explain,
    quiz,
    answer,
    topic,
    upload,
    open_thread,
    broken,
    study,
]


class TinyBot(commands.Bot):
    def __init__(self, *, message_content: bool = False, members: bool = False) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        intents.members = members
        super().__init__(command_prefix="!", intents=intents, help_command=None, guild_ready_timeout=0.05)
        self.seen: list[discord.Message] = []
        self.new_threads: list[discord.Thread] = []

    async def setup_hook(self) -> None:
        for command in GLOBAL_COMMANDS:
            self.tree.add_command(command)
        self.tree.add_command(reset, guild=discord.Object(GUILD_ID))
        await self.tree.sync()
        await self.tree.sync(guild=discord.Object(GUILD_ID))

    async def on_message(self, message: discord.Message) -> None:
        if message.author.id != BOT_ID:
            self.seen.append(message)

    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.new_threads.append(thread)


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def bot(start_bot: BotStarter) -> TinyBot:
    return await start_bot(TinyBot())


async def test_login_ready_and_command_sync(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    me = fake_discord.find_requests("GET", "/users/@me")
    assert [r.authorization for r in me] == ["Bot test-token"]
    assert bot.user is not None and bot.user.id == BOT_ID and bot.application_id == APPLICATION_ID
    identify = fake_discord.identifies[0]
    assert identify["token"] == "test-token" and identify["intents"] == discord.Intents.default().value

    synced = fake_discord.find_requests("PUT", f"/applications/{APPLICATION_ID}/commands")
    assert [c["name"] for c in synced[0].json] == [c.name for c in GLOBAL_COMMANDS]
    assert synced[0].status == 200
    explain_json = next(c for c in synced[0].json if c["name"] == "explain")
    assert [(o["name"], o["type"], o.get("required", False)) for o in explain_json["options"]] == [
        ("topic", 3, True),
        ("depth", 4, False),
        ("detailed", 5, False),
    ]
    guild_sync = fake_discord.find_requests("PUT", f"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands")
    assert [c["name"] for c in guild_sync[0].json] == ["reset"]
    assert all(c["id"] for c in fake_discord.synced_commands())

    guild = bot.get_guild(GUILD_ID)
    assert guild is not None and guild.name == "Study Group"
    assert {c.id: c.name for c in guild.text_channels} == {GENERAL_ID: "general", STUDY_ID: "study"}
    assert guild.me.id == BOT_ID
    assert guild.get_member(MEMBER_ID) is None  # without the presences intent Discord lists only the bot


async def test_slash_command_reply_is_the_exact_callback_body(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    interaction = await fake_discord.slash("ping", user=fake_discord.member)
    callback = await fake_discord.wait_for_callback(interaction)

    assert callback.request.path == f"/interactions/{interaction.id}/{interaction.token}/callback"
    assert callback.request.query == {"with_response": "1"}
    assert callback.request.authorization is None  # interaction callbacks carry no bot token
    assert callback.body == {
        "type": 4,
        "data": {
            "tts": False,
            "content": f"pong, <@{MEMBER_ID}>",
            "allowed_mentions": {"parse": []},
        },
    }
    assert callback.message is not None and callback.message["author"]["id"] == str(BOT_ID)
    assert callback.message["mentions"] == []  # allowed_mentions suppressed the ping


async def test_deferred_command_then_follow_up(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    interaction = await fake_discord.slash("explain", {"topic": "dropout", "depth": 2}, channel=fake_discord.study)
    assert interaction.data["options"] == [
        {"name": "topic", "type": 3, "value": "dropout"},
        {"name": "depth", "type": 4, "value": 2},
    ]
    callback = await fake_discord.wait_for_callback(interaction)
    assert callback.type == 5

    followup = await fake_discord.wait_for_followup(interaction)
    assert followup["content"] == "dropout at depth 2 (detailed=False)"
    # The first follow-up after a "thinking" defer replaces the placeholder message.
    assert callback.message is not None and followup["id"] == callback.message["id"]
    assert followup["flags"] & 128 == 0
    request = await fake_discord.wait_for_request("POST", rf"/webhooks/{APPLICATION_ID}/{interaction.token}")
    assert request.query["wait"] == "1"


async def test_button_click_on_a_view(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    start = await fake_discord.wait_for_callback(await fake_discord.slash("quiz"))
    assert start.message is not None
    buttons = start.message["components"][0]["components"]
    assert [b["label"] for b in buttons] == ["Yes", "No"]

    no = await fake_discord.wait_for_callback(await fake_discord.click(start.message, "quiz:no"))
    assert (no.type, no.content, no.ephemeral) == (4, "Maybe later.", True)

    yes = await fake_discord.wait_for_callback(await fake_discord.click(start.message, label="Yes"))
    assert yes.type == 7
    updated = fake_discord.get_message(int(start.message["id"]))
    assert updated is not None and updated["content"] == "Good luck!" and updated["components"] == []

    with pytest.raises(FakeDiscordError, match="no component"):
        await fake_discord.click(updated, "quiz:yes")  # the buttons are gone


async def test_modal_submit(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    opened = await fake_discord.wait_for_callback(await fake_discord.slash("answer"))
    assert opened.type == 9 and opened.data is not None and opened.data["title"] == "Your answer"

    with pytest.raises(FakeDiscordError, match="200"):
        await fake_discord.submit_modal(values={"answer": "x" * 201})  # over max_length: Discord refuses
    submitted = await fake_discord.submit_modal(values={"answer": "Dropout zeroes activations"})
    assert submitted.data["components"] == [
        {"type": 1, "components": [{"type": 4, "custom_id": "answer", "value": "Dropout zeroes activations"}]}
    ]
    reply = await fake_discord.wait_for_callback(submitted)
    assert reply.content == "Got: Dropout zeroes activations" and reply.ephemeral


async def test_autocomplete(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    choices = await fake_discord.autocomplete("topic", {"name": "d"})
    assert choices == [{"name": "dropout", "value": "dropout"}, {"name": "decision trees", "value": "decision trees"}]


async def test_subcommand_and_attachment_options(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    started = await fake_discord.slash("study", {"topic": "svm"}, subcommand="start")
    assert started.data["options"] == [
        {"name": "start", "type": 1, "options": [{"name": "topic", "type": 3, "value": "svm"}]}
    ]
    assert (await fake_discord.wait_for_callback(started)).content == "Studying svm for 25 min"

    notes = fake_discord.attachment("notes.md", b"# Dropout\n", content_type="text/markdown")
    uploaded = await fake_discord.slash("upload", {"file": notes})
    assert uploaded.data["resolved"]["attachments"][str(notes.id)]["filename"] == "notes.md"
    assert (await fake_discord.wait_for_callback(uploaded)).content == "notes.md: 10 bytes"


async def test_commands_discord_would_refuse(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    with pytest.raises(FakeDiscordError, match="never synced"):
        await fake_discord.slash("nope")
    with pytest.raises(FakeDiscordError, match="required"):
        await fake_discord.slash("explain", {"depth": 2})
    with pytest.raises(FakeDiscordError, match="an int"):
        await fake_discord.slash("explain", {"topic": "svm", "depth": "deep"})
    with pytest.raises(FakeDiscordError, match="cannot see /reset"):
        await fake_discord.slash("reset", user=fake_discord.member)

    done = await fake_discord.wait_for_callback(await fake_discord.slash("reset", user=fake_discord.admin))
    assert done.content == "Leaderboard reset."
    admin_ping = await fake_discord.slash("ping", user=fake_discord.admin)
    assert int(admin_ping.payload["member"]["permissions"]) & (1 << 5)  # MANAGE_GUILD
    member_ping = await fake_discord.slash("ping", user=fake_discord.member)
    assert not int(member_ping.payload["member"]["permissions"]) & (1 << 5)
    await fake_discord.wait_for_callback(admin_ping)
    await fake_discord.wait_for_callback(member_ping)


async def test_message_without_the_content_intent_is_blank(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    await fake_discord.message("what is dropout?", user=fake_discord.member)
    await fake_discord.message(f"{fake_discord.bot_user.mention} what is dropout?", user=fake_discord.member)
    await eventually(lambda: len(bot.seen) == 2)
    assert [m.content for m in bot.seen] == ["", f"<@{BOT_ID}> what is dropout?"]
    assert bot.seen[0].author.id == MEMBER_ID and bot.seen[0].channel.id == GENERAL_ID


async def test_message_with_the_content_intent(fake_discord: FakeDiscord, start_bot: BotStarter) -> None:
    fake_discord.grant_intents("message_content")
    bot = await start_bot(TinyBot(message_content=True))
    sent = await fake_discord.message("what is dropout?", user=fake_discord.other_member, channel=fake_discord.study)
    await eventually(lambda: len(bot.seen) == 1)
    assert bot.seen[0].content == "what is dropout?" and bot.seen[0].id == int(sent["id"])


async def test_privileged_intent_not_granted(fake_discord: FakeDiscord, start_bot: BotStarter) -> None:
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await start_bot(TinyBot(message_content=True))


async def test_members_intent_chunks_the_member_list(fake_discord: FakeDiscord, start_bot: BotStarter) -> None:
    fake_discord.grant_intents("members")
    bot = await start_bot(TinyBot(members=True))
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None and guild.chunked
    member = guild.get_member(MEMBER_ID)
    assert member is not None and member.name == "ben"


async def test_rate_limited_then_success(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake_discord.fail_next("POST", rf"/channels/{GENERAL_ID}/messages", status=429, retry_after=0.05)
    channel = bot.get_channel(GENERAL_ID)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("hello")
    attempts = fake_discord.find_requests("POST", rf"/channels/{GENERAL_ID}/messages")
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[0].json == attempts[1].json
    assert sent.id == int(fake_discord.channel_messages(GENERAL_ID)[-1]["id"])

    # Interaction callbacks go through discord.py's webhook adapter, which retries a 429 too.
    fake_discord.fail_next("POST", r"/interactions/\d+/[^/]+/callback", status=429, retry_after=0.05)
    callback = await fake_discord.wait_for_callback(await fake_discord.slash("ping"))
    assert [r.status for r in fake_discord.find_requests("POST", r"/interactions/.*")] == [429, 200]
    assert callback.type == 4


async def test_server_error_then_success(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake_discord.fail_next("POST", rf"/channels/{STUDY_ID}/messages", status=500)
    channel = bot.get_channel(STUDY_ID)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("hello")  # discord.py waits a second and retries
    attempts = fake_discord.find_requests("POST", rf"/channels/{STUDY_ID}/messages")
    assert [r.status for r in attempts] == [500, 200]


async def test_thread_creation(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    reply = await fake_discord.wait_for_callback(await fake_discord.slash("thread", {"name": "SVM night"}))
    [thread] = fake_discord.threads
    assert (thread.name, thread.type, thread.parent_id) == ("SVM night", 11, GENERAL_ID)
    assert reply.content == f"Opened <#{thread.id}>"
    request = await fake_discord.wait_for_request("POST", rf"/channels/{GENERAL_ID}/messages/\d+/threads")
    assert request.json["name"] == "SVM night"
    welcome = await fake_discord.wait_for_message(thread.id)
    assert welcome["content"] == "Welcome!"
    await eventually(lambda: [t.id for t in bot.new_threads] == [thread.id])  # THREAD_CREATE reached the bot


async def test_wrong_token_fails_login(fake_discord: FakeDiscord, start_bot: BotStarter) -> None:
    with pytest.raises(discord.LoginFailure):
        await start_bot(TinyBot(), token="not-the-token")
    assert [r.status for r in fake_discord.find_requests("GET", "/users/@me")] == [401]


async def test_raw_gateway_handshake(fake_discord: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(fake_discord.gateway_url) as ws:
            hello = await ws.receive_json()
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 45_000
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json())["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": "test-token", "intents": 1 | 1 << 9, "properties": {}}})
            ready, guild_create = await ws.receive_json(), await ws.receive_json()
            assert (ready["t"], ready["s"], guild_create["t"], guild_create["s"]) == ("READY", 1, "GUILD_CREATE", 2)
            assert ready["d"]["guilds"] == [{"id": str(GUILD_ID), "unavailable": True}]
            assert [m["user"]["id"] for m in guild_create["d"]["members"]] == [str(BOT_ID)]
            await fake_discord.message("hi")
            event = await ws.receive_json()
            assert (event["t"], event["s"], event["d"]["content"]) == ("MESSAGE_CREATE", 3, "")

        async with session.ws_connect(fake_discord.gateway_url) as ws:
            await ws.receive_json()
            await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}})
            closed = await ws.receive()
            assert closed.type is aiohttp.WSMsgType.CLOSE and ws.close_code == 4004


@pytest.mark.discord_errors_expected
async def test_a_crashing_command_is_logged(
    fake_discord: FakeDiscord, bot: TinyBot, discord_errors: ErrorCollector
) -> None:
    await fake_discord.slash("broken")
    await eventually(lambda: bool(discord_errors.records))
    assert "boom" in ErrorCollector.describe(discord_errors.records[0])


async def test_waits_fail_fast_when_the_bot_logs_an_error(fake_discord: FakeDiscord) -> None:
    waiting = asyncio.create_task(fake_discord.wait_for_request("GET", "/never", timeout=10))
    await asyncio.sleep(0.01)
    fake_discord.report_error("discord.app_commands.tree [ERROR] Ignoring exception in command 'x'")
    with pytest.raises(BotLoggedError, match="Ignoring exception"):
        await asyncio.wait_for(waiting, timeout=1)


async def test_unknown_route_is_a_loud_404(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    with pytest.raises(discord.NotFound, match="no route for GET /api/v10/guilds/1000/bans"):
        await bot.http.request(discord.http.Route("GET", "/guilds/{guild_id}/bans", guild_id=GUILD_ID))


@pytest.mark.slow
async def test_subprocess_uses_the_fake_through_sitecustomize(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str]
) -> None:
    script = (
        "import asyncio, discord\n"
        "async def main():\n"
        "    async with discord.Client(intents=discord.Intents.none()) as client:\n"
        "        await client.login('test-token')\n"
        "        print(client.user.name, client.application_id)\n"
        "asyncio.run(main())\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        env=fake_discord_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert out.decode().split() == ["StudyBot", str(APPLICATION_ID)]
    assert [r.path for r in fake_discord.requests] == ["/users/@me", "/oauth2/applications/@me"]


# ---- sharding -------------------------------------------------------------------------------


class ShardedTinyBot(commands.AutoShardedBot):
    def __init__(self, **shards: Any) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), help_command=None,
                         guild_ready_timeout=0.05, **shards)  # fmt: skip

    async def setup_hook(self) -> None:
        self.tree.add_command(ping)
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Discord allows one IDENTIFY per 5 s (discord.py waits that long between shards); the fake does not."""


async def test_an_auto_sharded_client_follows_the_recommended_shard_count(
    fake_discord: FakeDiscord, start_bot: BotStarter
) -> None:
    fake = fake_discord
    fake.recommended_shards = 3
    guilds = [fake.guild] + [fake.world.add_guild(guild_id_on_shard(i, 3), f"Group {i}") for i in (1, 2)]
    bot = await start_bot(ShardedTinyBot())
    assert sorted(i["shard"] for i in fake.identifies) == [[0, 3], [1, 3], [2, 3]]
    assert sorted(s.shard for s in fake.sessions) == [(0, 3), (1, 3), (2, 3)]
    assert {g.id: g.shard_id for g in bot.guilds} == {g.id: i for i, g in enumerate(guilds)}
    for shard_id, guild in enumerate(guilds):
        interaction = await fake.slash("ping", channel=guild.text_channels[0])
        assert (await fake.wait_for_callback(interaction)).content == f"pong, {fake.member.mention}"
        assert [s.shard for s in interaction.received_by] == [(shard_id, 3)]  # that shard's connection only


async def _connect_raw(session: aiohttp.ClientSession, fake: FakeDiscord, shard: Any) -> Any:
    ws = await session.ws_connect(fake.gateway_url)
    await ws.receive_json()  # HELLO
    intents = 1 | 1 << 9 | 1 << 12  # guilds, guild messages, direct messages
    await ws.send_json({"op": 2, "d": {"token": "test-token", "intents": intents, "properties": {}, "shard": shard}})
    return ws


async def _events(ws: Any, quiet: float = 0.1) -> list[tuple[str, Any]]:
    """The dispatches received until the socket stays quiet for `quiet` seconds."""
    events = []
    while True:
        try:
            msg = await ws.receive_json(timeout=quiet)
        except TimeoutError:
            return events
        events.append((msg["t"], msg["d"]))


async def test_guild_events_go_to_the_shard_of_the_guild_and_dms_to_shard_0(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    other = fake.world.add_guild(guild_id_on_shard(1, 2), "Other Group")
    async with aiohttp.ClientSession() as session:
        ws0, ws1 = await _connect_raw(session, fake, [0, 2]), await _connect_raw(session, fake, [1, 2])
        ready0, ready1 = await _events(ws0), await _events(ws1)
        assert [(t, d["id"]) for t, d in ready0[1:]] == [("GUILD_CREATE", str(GUILD_ID))]
        assert [(t, d["id"]) for t, d in ready1[1:]] == [("GUILD_CREATE", str(other.id))]
        assert ready1[0][1]["shard"] == [1, 2] and ready1[0][1]["guilds"] == [
            {"id": str(other.id), "unavailable": True}
        ]

        await fake.message("in the other group", channel=other.text_channels[0])
        assert [t for t, _ in await _events(ws0)] == []
        assert [(t, d["guild_id"]) for t, d in await _events(ws1)] == [("MESSAGE_CREATE", str(other.id))]
        await fake.message("in the study group")
        assert [(t, d["guild_id"]) for t, d in await _events(ws0)] == [("MESSAGE_CREATE", str(GUILD_ID))]
        assert await _events(ws1) == []

        thread = {"id": "77", "type": 11, "guild_id": str(other.id), "parent_id": str(other.id + 1000), "name": "t"}
        assert await fake.dispatch("THREAD_CREATE", thread) == 1
        assert [t for t, _ in await _events(ws1)] == ["THREAD_CREATE"] and await _events(ws0) == []
        dm = {"id": "78", "channel_id": "79", "author": fake.member.payload(), "content": "hi", "type": 0}
        assert await fake.dispatch("MESSAGE_CREATE", dm) == 1
        assert [t for t, _ in await _events(ws0)] == ["MESSAGE_CREATE"] and await _events(ws1) == []
        await ws0.close()
        await ws1.close()


@pytest.mark.parametrize("shard", [[2, 2], [0, 0], [-1, 2], [0]])
async def test_identify_with_an_invalid_shard_is_closed_with_4010(fake_discord: FakeDiscord, shard: Any) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await _connect_raw(session, fake_discord, shard)
        closed = await ws.receive()
        assert closed.type is aiohttp.WSMsgType.CLOSE and ws.close_code == 4010
    assert fake_discord.sessions == []
