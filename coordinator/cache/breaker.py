"""The circuit breaker in front of Redis.

Closed ("up"): cache operations go to Redis. The first failure opens it
("down"): operations go to the in-process store only, and a prober pings
Redis after a delay that doubles after every failed ping, up to a ceiling. A
successful ping closes it again. Only state changes are logged, one line each,
so an outage costs two log lines however many requests it spans.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

logger = logging.getLogger("coordinator.cache")

BreakerState = Literal["up", "down"]


class RedisBreaker:
    def __init__(self, *, where: str, probe_delay: float, probe_delay_max: float) -> None:
        if not 0 < probe_delay <= probe_delay_max:
            raise ValueError("need 0 < probe_delay <= probe_delay_max")
        self._where = where
        self._probe_delay_min = probe_delay
        self._probe_delay_max = probe_delay_max
        self._next_delay = probe_delay
        self._down = asyncio.Event()

    @property
    def state(self) -> BreakerState:
        return "down" if self._down.is_set() else "up"

    @property
    def is_up(self) -> bool:
        return not self._down.is_set()

    def trip(self, reason: str) -> None:
        """Record a failed Redis operation; opens the breaker if it was closed."""
        if self._down.is_set():
            return
        self._down.set()
        self._next_delay = self._probe_delay_min
        logger.warning(
            "cache: redis at %s is down (%s); serving from the in-process cache",
            self._where,
            reason,
        )

    def reset(self) -> None:
        """Record a successful probe; closes the breaker if it was open."""
        if not self._down.is_set():
            return
        self._down.clear()
        logger.info("cache: redis at %s is up again; shared cache in use", self._where)

    async def wait_down(self) -> None:
        await self._down.wait()

    def next_probe_delay(self) -> float:
        """Seconds until the next probe; each call doubles the following one."""
        delay = self._next_delay
        self._next_delay = min(delay * 2, self._probe_delay_max)
        return delay
