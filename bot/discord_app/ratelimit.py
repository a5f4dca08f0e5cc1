"""Per-user rate limits: a sliding window of recent actions per user (pure, clock injectable)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[int, deque[float]] = {}

    def hit(self, user_id: int) -> float:
        """Record an action; returns 0 when allowed, else the seconds until the user may act again."""
        now = self.clock()
        hits = self._hits.setdefault(user_id, deque())
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return 60 - (now - hits[0])
        hits.append(now)
        return 0.0
