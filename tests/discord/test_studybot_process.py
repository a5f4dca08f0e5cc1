"""The real `studybot run` entry point, as a subprocess, against the fake Discord."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import free_port
from tests.discord.fake_discord import WAIT, FakeDiscord
from tests.discord.processes import REPO, STUDYBOT


def _env(base: dict[str, str], tmp_path: Path, token: str) -> dict[str, str]:
    return {
        **base,
        "STUDYBOT_DISCORD_TOKEN": token,
        "STUDYBOT_DATA_DIR": str(tmp_path / "data"),
        "STUDYBOT_KNOWLEDGE_DIR": str(REPO / "knowledge"),
        "STUDYBOT_DISCORD_TEST_GUILD": "1000",
        "STUDYBOT_DISCORD_GUILD_READY_TIMEOUT": "0.05",
    }


async def test_studybot_run_logs_in_syncs_and_answers(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    fake_discord.grant_intents("message_content")
    port = free_port()
    env = {**_env(fake_discord_env, tmp_path, "test-token"), "STUDYBOT_HTTP_PORT": str(port)}
    proc = await asyncio.create_subprocess_exec(
        STUDYBOT, "run", env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        sync = await fake_discord.wait_for_request("PUT", r"/applications/\d+/guilds/1000/commands", timeout=90)
        assert {c["name"] for c in sync.json} >= {"ask", "quiz", "interview"}
        await fake_discord.wait_until_connected(timeout=60)  # sync runs in setup_hook, before the gateway
        topics = await fake_discord.slash("topics", user=fake_discord.member)
        reply = await fake_discord.wait_for_callback(topics, timeout=WAIT)
        assert reply.ephemeral and reply.data["embeds"][0]["title"] == "Study areas and topics"
        assert "test-token" not in str(reply.body)

        health = await _wait_for_health(port)
        assert health["checks"] == {"discord": "ok", "vector_store": "ok", "database": "ok"}
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
            metrics = await response.text()
        assert 'studybot_commands_total{command="topics"} 1.0' in metrics
        assert "test-token" not in metrics
    finally:
        proc.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=WAIT)
    assert b"Traceback" not in stderr
    assert b"test-token" not in stdout + stderr  # the token is never logged


async def _wait_for_health(port: int, timeout: float = WAIT) -> dict[str, Any]:
    """/healthz of the bot process once it reports healthy (ready can trail the first command)."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                body: dict[str, Any] = await response.json()
                if response.status == 200 or asyncio.get_running_loop().time() > deadline:
                    return body
            await asyncio.sleep(0.2)


async def test_studybot_run_with_a_rejected_token_is_one_line(
    fake_discord: FakeDiscord, fake_discord_env: dict[str, str], tmp_path: Path
) -> None:
    proc = await asyncio.create_subprocess_exec(
        STUDYBOT, "run", env=_env(fake_discord_env, tmp_path, "not-the-token"), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode == 1
    text = stderr.decode()
    assert "Discord rejected the token" in text and "Traceback" not in text
    assert "not-the-token" not in text


async def test_studybot_run_without_a_token(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_DISCORD_TOKEN")}
    proc = await asyncio.create_subprocess_exec(
        STUDYBOT, "run", env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 1
    assert stderr.decode().strip().splitlines() == [
        "error: no Discord token: set STUDYBOT_DISCORD_TOKEN or STUDYBOT_DISCORD_TOKEN_FILE"
    ]
