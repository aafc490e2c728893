"""Single-flight: concurrent calls for the same key share one fetch.

The first caller for a key (the leader) runs `fetch`; callers arriving while it
runs wait for its outcome. If the fetch raises, every waiter gets the same
exception. If the leader is cancelled (its client went away, its deadline
passed), the waiters are not: one of them becomes the new leader and fetches
again. A waiter that is cancelled leaves without disturbing the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class _LeaderCancelled(Exception):
    """Set on a flight whose leader was cancelled: waiters retry."""


class Coalescer:
    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[Any]] = {}
        self.joined = 0  # callers that waited for another caller's fetch

    async def run(self, key: str, fetch: Callable[[], Awaitable[T]]) -> T:
        joined = False
        while (flight := self._flights.get(key)) is not None:
            if not joined:
                joined = True
                self.joined += 1
            try:
                # shield: a cancelled waiter must not cancel the shared flight.
                result: T = await asyncio.shield(flight)
            except _LeaderCancelled:
                continue
            return result
        return await self._lead(key, fetch)

    async def _lead(self, key: str, fetch: Callable[[], Awaitable[T]]) -> T:
        flight: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            result = await fetch()
        except Exception as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(result)
            return result
        finally:
            del self._flights[key]
            if not flight.done():
                # Cancelled (or interrupted) before an outcome: waiters elect a new leader.
                flight.set_exception(_LeaderCancelled())
            # Marks the exception as retrieved: with no waiters, asyncio would
            # otherwise log "Future exception was never retrieved".
            flight.exception()
