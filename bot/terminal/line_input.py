"""Reading what the learner types, so that Ctrl-C and Ctrl-D leave at once.

``input()`` in a worker thread cannot be interrupted: Ctrl-C cancelled the program, whose shutdown
then waited for that thread, that is for Enter. So a terminal or a pipe is read from the event loop
itself (``add_reader``), and Ctrl-C, caught only while a prompt waits, ends the wait. Input the loop
cannot watch (a regular file, a test's stand-in for stdin) never blocks for long: it is read with
``console.input`` in a thread, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from rich.console import Console


class LeaveRequested(Exception):
    """Ctrl-C (``interrupted``) or Ctrl-D / the end of the input at a prompt: the learner wants out now.

    Flows that hold a quiz or an interview say it is saved and let this rise to the command, which
    exits (130 after Ctrl-C, 0 otherwise)."""

    def __init__(self, *, interrupted: bool) -> None:
        super().__init__("interrupted" if interrupted else "end of input")
        self.interrupted = interrupted


class _StdinLines:
    """Lines from a file descriptor that the event loop can watch, buffered between prompts
    (a pipe may hand over several lines at once)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pending = b""
        self.ctrl_c = False  # pressed while this prompt waits (or was about to)
        self.waiting: asyncio.Future[bytes] | None = None

    @contextlib.contextmanager
    def catching_ctrl_c(self) -> Iterator[None]:
        """While the block runs, Ctrl-C ends the wait for a line instead of cancelling the program.

        Only the main thread may set signal handlers; elsewhere Ctrl-C keeps its usual meaning."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(self._interrupt)

        self.ctrl_c = False
        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _interrupt(self) -> None:
        self.ctrl_c = True
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(LeaveRequested(interrupted=True))

    async def next_line(self) -> str | None:
        """The next line without its newline; None at the end of the input (Ctrl-D on a terminal)."""
        while b"\n" not in self.pending:
            chunk = await self._chunk()
            if not chunk:  # the end of a pipe, or Ctrl-D on a terminal: what came before it is a last line
                rest, self.pending = self.pending, b""
                return _text(rest) if rest else None
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return _text(line)

    async def _chunk(self) -> bytes:
        if self.ctrl_c:
            raise LeaveRequested(interrupted=True)
        loop = asyncio.get_running_loop()
        got: asyncio.Future[bytes] = loop.create_future()

        def readable() -> None:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:  # woken for nothing: wait on
                return
            except OSError:  # the terminal went away: as good as the end of the input
                data = b""
            if not got.done():
                got.set_result(data)

        loop.add_reader(self.fd, readable)
        self.waiting = got
        try:
            return await got
        finally:
            self.waiting = None
            loop.remove_reader(self.fd)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").removesuffix("\r")


# stdin is one per process, and lines a pipe handed over early must reach the next prompt, whichever
# flow asks: so the reader of each descriptor is kept here, not in a flow.
_readers: dict[int, _StdinLines | None] = {}


def _stdin_reader() -> _StdinLines | None:
    """The loop-watched reader of stdin, or None when stdin cannot be watched (then use a thread)."""
    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, ValueError, OSError):  # replaced by a test's stand-in, or closed
        return None
    if fd not in _readers:
        watchable = stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
        _readers[fd] = _StdinLines(fd) if watchable and _loop_can_watch(fd) else None
    return _readers[fd]


def _loop_can_watch(fd: int) -> bool:
    """epoll refuses some character devices (/dev/null): try once."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_reader(fd, lambda: None)
    except (OSError, NotImplementedError, ValueError):
        return False
    loop.remove_reader(fd)
    return True


async def read_line(console: Console, label: str) -> str:
    """One line typed after the prompt ``label`` (rich markup).

    Raises :class:`LeaveRequested` on Ctrl-C or Ctrl-D, or when the input ends."""
    reader = _stdin_reader()
    if reader is None:
        try:
            return await asyncio.to_thread(console.input, label)
        except (EOFError, KeyboardInterrupt) as exc:
            console.print()
            raise LeaveRequested(interrupted=isinstance(exc, KeyboardInterrupt)) from None
    with reader.catching_ctrl_c():  # from before the prompt shows: a quick Ctrl-C is not lost
        console.print(label, end="")
        try:
            line = await reader.next_line()
        except LeaveRequested:
            console.print()  # the terminal echoed ^C on the prompt's line
            raise
    if line is None:
        console.print()
        raise LeaveRequested(interrupted=False)
    return line


async def read_paragraph(console: Console, label: str, more: str) -> str:
    """Several lines, up to an empty one, joined with newlines: a free-text answer.

    A first line that starts with ``/`` is a command and comes back alone. Ctrl-C or Ctrl-D leave
    (:class:`LeaveRequested`), dropping the lines not yet sent."""
    first = await read_line(console, label)
    if not first.strip() or first.lstrip().startswith("/"):
        return first
    lines = [first]
    while (line := await read_line(console, more)).strip():
        lines.append(line)
    return "\n".join(lines)
