"""Graceful shutdown: answers in flight finish and are sent, new requests hear "restarting", then all closes.

The answers are made slow by an OpenAI-compatible chat server on 127.0.0.1 whose replies wait until
the test opens a gate, so "in flight" is a fact rather than a race.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import Services
from bot.discord_app.client import RESTARTING, StudyBot, build_bot
from tests.discord.conftest import BotStarter
from tests.discord.fake_discord import GENERAL_ID, GUILD_ID, WAIT, FakeDiscord
from tests.discord.processes import StudybotProcess, studybot_env
from tests.fakes import loopback_server, openai_completion

LLM_REPLY = "Dropout zeroes random units while training, so that they cannot co-adapt [1]."
QUESTION = {"question": "How does dropout work during training?"}


class GatedLLM:
    """Chat completions that wait for `gate`; `requests` are the bodies received so far."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.requests: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self.url = ""

    async def completions(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        self._arrived.set()
        await self.gate.wait()
        return web.json_response(openai_completion("gated", LLM_REPLY))

    async def wait_for_requests(self, count: int, timeout: float = WAIT) -> None:
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()

    def settings(self) -> dict[str, str]:
        return {"llm_provider": "openai", "llm_model": "gated", "llm_base_url": self.url}


@pytest.fixture
async def llm() -> AsyncIterator[GatedLLM]:
    fake = GatedLLM()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.completions)
    async with loopback_server(app) as url:
        fake.url = f"{url}/v1"
        yield fake
        fake.gate.set()  # replies still waiting go out, so the server can stop


@pytest.fixture
async def slow_bot(
    fake_discord: FakeDiscord, start_bot: BotStarter, bot_services: Callable[..., Services], llm: GatedLLM
) -> StudyBot:
    fake_discord.grant_intents("message_content")
    services = bot_services(discord_test_guild=GUILD_ID, shutdown_grace_s=120, **llm.settings())
    return await start_bot(build_bot(services))


async def _until(check: Callable[[], bool], timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_closing_finishes_answers_in_flight_and_refuses_new_requests(
    slow_bot: StudyBot, fake_discord: FakeDiscord, llm: GatedLLM
) -> None:
    fake, bot = fake_discord, slow_bot
    await bot.services.db.set_mention_channel(str(GUILD_ID), str(GENERAL_ID), True)
    asked = await fake.slash("ask", QUESTION)
    await llm.wait_for_requests(1)

    # An interview answer given in a form (a button, then a modal): graded with the LLM too.
    start = await fake.slash("interview", {"topic": "regularization", "questions": 3}, subcommand="start",
                             channel=fake.study)  # fmt: skip
    await fake.wait_for_followup(start)
    thread = fake.threads[-1]
    prompt = await fake.wait_for_message(thread, predicate=lambda m: bool(m["embeds"]))
    session = (await bot.services.interviews.active_for(channel_id=str(thread.id)))[0]
    await fake.wait_for_callback(await fake.click(prompt, f"sbia:{session.id}"))
    mark = len(fake.messages_log)
    submitted = await fake.submit_modal(f"sbiam:{session.id}", {"answer": "Dropout zeroes random units."},
                                        message=prompt)  # fmt: skip
    await llm.wait_for_requests(2)
    assert len(bot.work) == 2

    closing = asyncio.create_task(bot.close())
    await _until(lambda: bot.shutting_down)
    late = await fake.slash("ask", QUESTION)
    refused = await fake.wait_for_callback(late)
    assert refused.ephemeral and refused.data["content"] == RESTARTING
    mention = await fake.message(f"{fake.bot_user.mention} what is dropout?")
    reply = await fake.wait_for_message(fake.general, predicate=lambda m: m.get("referenced_message") is not None)
    assert reply["content"] == RESTARTING and int(reply["message_reference"]["message_id"]) == int(mention["id"])
    assert not closing.done() and len(llm.requests) == 2  # nothing new started; the two answers still wait

    llm.gate.set()
    answer = await fake.wait_for_followup(asked)
    assert LLM_REPLY.split(" [")[0] in str(answer["embeds"])
    received = await fake.wait_for_followup(submitted)
    assert received["embeds"][0]["author"]["name"].endswith("answered")  # the answer, shown to the thread
    step = await fake.wait_for_message(
        thread, after=mark, predicate=lambda m: bool(m["embeds"]) and "title" in m["embeds"][0]
    )
    assert step["embeds"][0]["title"].startswith(("Q1", "Follow-up"))  # what the graded answer led to
    await asyncio.wait_for(closing, timeout=WAIT)
    assert bot.is_closed() and len(bot.work) == 0
    assert bot.services.db.engine.pool.checkedout() == 0


async def test_hurrying_the_shutdown_cancels_what_is_in_flight(
    slow_bot: StudyBot, fake_discord: FakeDiscord, llm: GatedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    await fake_discord.slash("ask", QUESTION)
    await llm.wait_for_requests(1)
    closing = asyncio.create_task(slow_bot.close())
    await _until(lambda: slow_bot.shutting_down)
    started = time.monotonic()
    slow_bot.shut_down_now()  # what a second SIGTERM does
    await asyncio.wait_for(closing, timeout=WAIT)
    # Far inside the 120 s grace: the answer in flight was cancelled, not waited for.
    assert time.monotonic() - started < 30 and slow_bot.is_closed()
    assert "cancelling 1 request(s) still in flight" in caplog.text


def _sigterm_env(fake_discord_env: dict[str, str], data_dir: Path, llm: GatedLLM, grace: float) -> dict[str, str]:
    return studybot_env(fake_discord_env, data_dir, discord_test_guild=str(GUILD_ID), shutdown_grace_s=str(grace),
                        **llm.settings())  # fmt: skip


@pytest.mark.slow
async def test_sigterm_lets_the_answer_in_flight_finish_then_exits_0(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], notes_data_dir: Path, tmp_path: Path, llm: GatedLLM
) -> None:
    fake = fake_discord
    fake.grant_intents("message_content")
    grace = 90.0
    async with StudybotProcess(_sigterm_env(fake_discord_env, notes_data_dir, llm, grace), tmp_path) as bot:
        await fake.wait_until_connected(timeout=90)
        asked = await fake.slash("ask", QUESTION)
        await llm.wait_for_requests(1)
        bot.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await bot.wait_for_log("SIGTERM received")
        late = await fake.slash("ask", QUESTION)
        refused = await fake.wait_for_callback(late)
        assert refused.ephemeral and refused.data["content"] == RESTARTING

        llm.gate.set()
        answer = await fake.wait_for_followup(asked, timeout=WAIT)
        assert LLM_REPLY.split(" [")[0] in str(answer["embeds"])
        code = await bot.wait(timeout=grace)
    assert code == 0 and time.monotonic() - signalled < grace
    assert "studybot shut down cleanly" in bot.log and "Traceback" not in bot.log
    assert len(llm.requests) == 1 and "test-token" not in bot.log


@pytest.mark.slow
async def test_a_second_sigterm_closes_at_once(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], notes_data_dir: Path, tmp_path: Path, llm: GatedLLM
) -> None:
    fake = fake_discord
    fake.grant_intents("message_content")
    async with StudybotProcess(_sigterm_env(fake_discord_env, notes_data_dir, llm, 300), tmp_path) as bot:
        await fake.wait_until_connected(timeout=90)
        await fake.slash("ask", QUESTION)
        await llm.wait_for_requests(1)
        bot.send_signal(signal.SIGTERM)
        await bot.wait_for_log("SIGTERM received")
        bot.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = await bot.wait(timeout=WAIT)
    assert code == 0 and time.monotonic() - signalled < 30  # far inside the 300 s grace
    assert "closing without waiting" in bot.log and "studybot shut down cleanly" in bot.log
    assert "Traceback" not in bot.log


async def test_closing_lets_a_round_of_the_interview_expiry_loop_finish(
    fake_discord: FakeDiscord, start_bot: BotStarter, bot_services: Callable[..., Services]
) -> None:
    # Cancelled half-way through a query, a round left its SQLite connection to be killed after the
    # database had closed, in a task that then ignored cancellation (a flaky teardown failure).
    fake_discord.grant_intents("message_content")
    bot = await start_bot(build_bot(bot_services()))
    cog: Any = bot.get_cog("Interview")
    running, finished = asyncio.Event(), asyncio.Event()

    async def slow_round() -> None:
        running.set()
        await bot.services.interviews.active_for()
        await asyncio.sleep(0.2)  # the bot starts closing here
        await bot.services.interviews.active_for()
        finished.set()

    cog._expire_all = slow_round
    cog.expiry.restart()
    await asyncio.wait_for(running.wait(), timeout=WAIT)
    await bot.close()
    assert finished.is_set()
