"""A throwaway PostgreSQL server for the tests: initdb into a temporary folder, run on 127.0.0.1.

PostgreSQL refuses to run as root, so when the tests run as root every server command runs as the
``postgres`` system user (created by the Debian package) over a folder handed to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.conftest import free_port

DEBIAN_PACKAGE = "postgresql"
SUPERUSER = "postgres"
ROOT_PREFIX = "studybot-pg-"
OWNER_FILE = "owner.pid"  # the test process that started the server


def find_bindir() -> Path | None:
    """The folder with ``initdb`` and ``postgres``: the newest Debian install, else ``pg_config --bindir``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "postgres").exists():
            return Path(out)
    return None


def _version_key(path: str) -> int:
    version = Path(path).parents[1].name
    return int(version) if version.isdigit() else 0


def missing_reason() -> str | None:
    """Why no server can be started here, or None when one can."""
    if find_bindir() is None:
        return f"PostgreSQL server binaries not found: install the Debian package `{DEBIAN_PACKAGE}`"
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _user_exists(SUPERUSER)):
        return f"running as root without `runuser` or a `{SUPERUSER}` user: PostgreSQL will not run as root"
    return None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class PostgresServer:
    """One server instance: ``start()``/``stop()`` may be called again to simulate an outage."""

    def __init__(self, bindir: Path, root: Path | None = None) -> None:
        self.bindir = bindir
        self.root = root or _new_root()
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)

    def init(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        if os.geteuid() == 0:
            shutil.chown(pwfile, user=SUPERUSER)
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={pwfile}", "-E", "UTF8",
            "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()

    def start(self) -> None:
        # No fsync: a committed transaction survives the server stopping, even "immediate"ly, but not the
        # machine crashing, which is all a throwaway server needs; every commit is much faster for it.
        options = f"-h 127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` disconnects clients and shuts down cleanly; ``immediate`` is like a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    @property
    def running(self) -> bool:
        result = subprocess.run(
            self._command("pg_ctl", "-D", str(self.data), "status"), capture_output=True, cwd=self.root, check=False
        )
        return result.returncode == 0

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def url(self, database: str, *, password: bool = True) -> str:
        secret = f":{self.password}" if password else ""
        return f"postgresql+asyncpg://{SUPERUSER}{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.sql(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement as the superuser over the unix socket; returns the unaligned output."""
        result = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", str(self.sockets), "-p", str(self.port), "-U", SUPERUSER, "-d", database, "-c", statement],
            capture_output=True, text=True, cwd=self.root, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def destroy(self) -> None:
        if self.data.exists() and self.running:
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bindir / program), *args]
        return ["runuser", "-u", SUPERUSER, "--", *command] if os.geteuid() == 0 else command

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            self._command(program, *args), capture_output=True, text=True, cwd=self.root, check=False
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{log}")


def _new_root() -> Path:
    # Not under pytest's tmp_path: its parents are private to root, and the server may run as postgres.
    root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
    (root / OWNER_FILE).write_text(str(os.getpid()))
    (root / "sock").mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, user=SUPERUSER)
        shutil.chown(root / "sock", user=SUPERUSER)
    return root


def reap_orphans(bindir: Path) -> None:
    """Stop and delete servers left behind by a test run that was killed before it could stop them."""
    for root in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not _alive(owner):
            PostgresServer(bindir, root).destroy()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_server() -> PostgresServer:
    bindir = find_bindir()
    assert bindir is not None, missing_reason()
    reap_orphans(bindir)
    server = PostgresServer(bindir)
    try:
        server.init()
        server.start()
    except BaseException:
        server.destroy()
        raise
    return server
