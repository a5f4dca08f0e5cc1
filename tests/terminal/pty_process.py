"""`studybot` run on a pseudo-terminal, as a learner runs it: keys go in, the screen comes out.

The process leads its own session with the pty as its controlling terminal, so Ctrl-C typed there
is a SIGINT from the terminal driver and Ctrl-D an end of input, exactly as in a real terminal.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

STUDYBOT = str(Path(sys.executable).with_name("studybot"))
CTRL_C = b"\x03"
CTRL_D = b"\x04"
# The child makes the pty its controlling terminal itself, so no code runs between fork and exec here.
_LAUNCH = (
    "import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)
_ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


class PtyProcess:
    """One `studybot ...` on its own pty, 200 columns wide so messages do not wrap."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, STUDYBOT, *args],
            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.raw = b""
        self.seen = 0  # how much of the screen text earlier `expect` calls have matched

    @property
    def text(self) -> str:
        """Everything shown so far, without colours and cursor moves."""
        return _ESCAPES.sub(b"", self.raw).decode("utf-8", errors="replace").replace("\r", "")

    def _pump(self, timeout: float) -> bool:
        """Read what comes within ``timeout``; False once the terminal is closed (the process is gone)."""
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every holder of the pty's other side has closed it
            return False
        self.raw += chunk
        return bool(chunk)

    def expect(self, wanted: str, timeout: float = 120) -> str:
        """Wait for ``wanted`` to appear after what was matched before; the screen text up to it."""
        deadline = time.monotonic() + timeout
        while (at := self.text.find(wanted, self.seen)) < 0:
            if time.monotonic() > deadline or not self._pump(deadline - time.monotonic()):
                raise AssertionError(f"{wanted!r} never showed; the screen:\n{self.text[-3000:]}")
        self.seen = at + len(wanted)
        return self.text[:at]

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait(self, timeout: float) -> int | None:
        """The exit status if the process ends within ``timeout``, else None; its output is read meanwhile."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if not self._pump(min(0.05, deadline - time.monotonic())):  # the pty closed: the end is near
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(max(deadline - time.monotonic(), 0))
                break
        if self.proc.poll() is not None:  # what it printed last
            while select.select([self.master], [], [], 0)[0] and self._pump(0):
                pass
        return self.proc.poll()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
