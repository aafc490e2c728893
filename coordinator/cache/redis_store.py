"""The shared store: Redis through redis.asyncio (hiredis parser when installed).

This module is the one place where redis exceptions are seen: every failure of
a command (refused, reset, timed out, protocol error) trips the breaker, is
counted, and is raised as `RedisUnavailable`, which the cache answers from the
in-process store. Commands are never retried here: a retry would only make a
request wait longer for a Redis that is already unwell; the breaker's prober
decides when Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from coordinator.cache.breaker import BreakerState, RedisBreaker

# What a command raises when Redis is unwell: RedisError (refused, reset, timed
# out, protocol), OSError (sockets, timeouts), and anything else the client lets
# through, because a Redis problem must never fail a request. CancelledError is
# not an Exception and still propagates.
_REDIS_FAILURES = Exception


class RedisUnavailable(Exception):
    """Redis could not serve a command; the breaker is open now."""


class RedisStore:
    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        probe_delay: float,
        probe_delay_max: float,
    ) -> None:
        self._client: Redis = Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._breaker = RedisBreaker(
            where=redact_url(url), probe_delay=probe_delay, probe_delay_max=probe_delay_max
        )
        self._prober: asyncio.Task[None] | None = None
        self.errors = 0

    @property
    def state(self) -> BreakerState:
        return self._breaker.state

    @property
    def is_up(self) -> bool:
        return self._breaker.is_up

    async def start(self) -> None:
        """Ping once so a Redis that is down at start-up shows as down; never raises."""
        with contextlib.suppress(RedisUnavailable):
            await self.ping()
        self._prober = asyncio.create_task(self._probe_while_down(), name="redis-cache-prober")

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
            self._prober = None
        await self._client.aclose()

    async def get(self, key: str) -> bytes | None:
        try:
            raw = await self._client.get(key)
        except _REDIS_FAILURES as exc:
            raise self._failed(exc) from exc
        return raw.encode() if isinstance(raw, str) else raw  # str only with decode_responses

    async def set(self, key: str, raw: bytes, *, ttl_ms: int) -> None:
        try:
            await self._client.set(key, raw, px=ttl_ms)
        except _REDIS_FAILURES as exc:
            raise self._failed(exc) from exc

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except _REDIS_FAILURES as exc:
            raise self._failed(exc) from exc

    def _failed(self, exc: Exception) -> RedisUnavailable:
        self.errors += 1
        self._breaker.trip(f"{type(exc).__name__}: {exc}")
        return RedisUnavailable(str(exc))

    async def _probe_while_down(self) -> None:
        while True:
            await self._breaker.wait_down()
            await asyncio.sleep(self._breaker.next_probe_delay())
            try:
                await self._client.ping()
            except _REDIS_FAILURES:
                continue
            self._breaker.reset()


def redact_url(url: str) -> str:
    """`url` without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
