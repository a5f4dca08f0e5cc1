"""``/healthz`` and ``/metrics`` over HTTP, served from the bot's own event loop (aiohttp).

``/healthz`` answers 200 when Discord is connected and the vector store and the database answer,
503 otherwise, with a JSON body naming what is wrong (for Docker's HEALTHCHECK, a load balancer
or a person with curl). ``/metrics`` is the Prometheus text format. Neither shows secrets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.metrics import CONTENT_TYPE
from bot.study.errors import StudybotError

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 3.0  # a check slower than this counts as failed: health must answer quickly
ACTIVE_WITHIN = timedelta(hours=1)  # a session untouched for longer is abandoned, not active

# None when connected; otherwise what is wrong, in words ("not connected yet", "shard 2 is down").
ConnectionProblem = Callable[[], str | None]


class HealthServer:
    """The HTTP endpoint of one bot process. ``start`` binds; ``stop`` closes."""

    def __init__(self, services: Services, discord_problem: ConnectionProblem, host: str, port: int) -> None:
        self.services = services
        self.discord_problem = discord_problem
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def start(self) -> None:
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise StudybotError(
                f"cannot serve /healthz and /metrics on {self.host}:{self.port} ({exc.strerror}); "
                "set STUDYBOT_HTTP_PORT to a free port, or 0 to turn the endpoint off"
            ) from exc
        self._runner = runner
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- handlers --------------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        checks = await self.checks()
        healthy = all(value == "ok" for value in checks.values())
        body = {"status": "ok" if healthy else "unhealthy", "checks": checks}
        return web.json_response(body, status=200 if healthy else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        await self._count_sessions()
        return web.Response(body=self.services.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    # --- checks ----------------------------------------------------------------------------------

    async def checks(self) -> dict[str, str]:
        """Each dependency: "ok", or what is wrong with it."""
        discord_problem = self.discord_problem()
        store, database = await asyncio.gather(self._check_store(), self._check_database())
        return {"discord": discord_problem or "ok", "vector_store": store, "database": database}

    async def _check_store(self) -> str:
        try:
            await asyncio.wait_for(asyncio.to_thread(self.services.store.count), CHECK_TIMEOUT_S)
        except TimeoutError:
            return f"no answer within {CHECK_TIMEOUT_S:.0f} s"
        except StudybotError as exc:
            return str(exc)
        return "ok"

    async def _check_database(self) -> str:
        try:
            reachable = await asyncio.wait_for(self.services.db.ping(), CHECK_TIMEOUT_S)
        except TimeoutError:
            return f"no answer within {CHECK_TIMEOUT_S:.0f} s"
        return "ok" if reachable else "unreachable"

    async def _count_sessions(self) -> None:
        """Sessions in progress, read from the database at scrape time (all processes share it)."""
        from bot.study.store import now

        try:
            counts = await asyncio.wait_for(
                self.services.db.count_active_sessions(now() - ACTIVE_WITHIN), CHECK_TIMEOUT_S
            )
        except (TimeoutError, StudybotError) as exc:  # keep the last figures; the rest still renders
            log.warning("could not count active sessions for /metrics: %s", exc)
            return
        for kind in ("quiz", "interview"):
            self.services.metrics.active_sessions.labels(kind).set(counts.get(kind, 0))
