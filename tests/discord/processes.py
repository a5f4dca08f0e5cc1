"""The real `studybot run` as a subprocess against the fake Discord, with its log read as it comes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STUDYBOT = str(Path(sys.executable).with_name("studybot"))


def studybot_env(base: dict[str, str], data_dir: Path, token: str = "test-token", **settings: str) -> dict[str, str]:
    """The environment for `studybot run` against the fake (`base` is the `fake_discord_env` fixture).

    Commands sync globally unless STUDYBOT_DISCORD_TEST_GUILD is given; `settings` are more
    STUDYBOT_* variables, named without the prefix (shard_count="2").
    """
    env = {
        **base,
        "STUDYBOT_DISCORD_TOKEN": token,
        "STUDYBOT_DATA_DIR": str(data_dir),
        "STUDYBOT_KNOWLEDGE_DIR": str(REPO / "knowledge"),
        "STUDYBOT_DISCORD_GUILD_READY_TIMEOUT": "0.05",
    }
    env.update({f"STUDYBOT_{key.upper()}": value for key, value in settings.items()})
    return env


class StudybotProcess:
    """`studybot run [args]`; its stderr (the log) is collected line by line while it runs."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self.env, self.cwd, self.args = env, cwd, args
        self.lines: list[str] = []
        self.stdout = b""
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._new_line = asyncio.Event()

    async def __aenter__(self) -> StudybotProcess:
        self._proc = await asyncio.create_subprocess_exec(
            STUDYBOT, "run", *self.args, env=self.env, cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await self._reader

    @property
    def proc(self) -> asyncio.subprocess.Process:
        assert self._proc is not None, "use `async with StudybotProcess(...)`"
        return self._proc

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    @property
    def log(self) -> str:
        return "".join(self.lines)

    async def _read(self) -> None:
        assert self.proc.stderr is not None and self.proc.stdout is not None
        stdout = asyncio.create_task(self.proc.stdout.read())
        async for line in self.proc.stderr:
            self.lines.append(line.decode(errors="replace"))
            self._new_line.set()
        self.stdout = await stdout
        self._new_line.set()

    async def wait_for_log(self, text: str, *, timeout: float = 60) -> str:
        """The first log line containing `text`; waits for it (fails if the process ends first)."""
        async with asyncio.timeout(timeout):
            while True:
                found = next((line for line in self.lines if text in line), None)
                if found is not None:
                    return found
                if self._reader is not None and self._reader.done():
                    raise AssertionError(f"studybot exited without logging {text!r}:\n{self.log}")
                self._new_line.clear()
                await self._new_line.wait()

    def send_signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait(self, *, timeout: float) -> int:
        """The exit status, once the process has ended and its output is read."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.proc.wait()
                if self._reader is not None:
                    await self._reader
        if self.returncode is None:
            raise AssertionError(f"studybot still runs after {timeout} s:\n{self.log}")
        return self.returncode
