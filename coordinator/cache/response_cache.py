"""The cache the service uses: fresh reads, stale-if-error reads, writes, coalescing.

Without Redis, entries live in the in-process `MemoryStore`. With Redis, Redis
is the shared truth while it is up; every entry written or read also goes to
the in-process store, so when Redis fails the cache keeps answering from warm
local entries instead of starting cold, and a read whose bytes match the local
copy skips JSON decoding. No operation raises because Redis is unwell.

An entry is fresh until `expires_at` (stored_at + ttl), then stale for
`stale_grace` more seconds: `get` no longer returns it, `get_stale` does (for
answering when every target failed), then it is gone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

from coordinator.cache.coalesce import Coalescer
from coordinator.cache.entry import (
    CacheEntry,
    CacheStats,
    EntryFormatError,
    decode_entry,
    encode_entry,
)
from coordinator.cache.memory_store import MemoryStore
from coordinator.cache.redis_store import RedisStore, RedisUnavailable

logger = logging.getLogger("coordinator.cache")

T = TypeVar("T")
Clock = Callable[[], float]


class ResponseCache:
    """Use as ``async with``; the memory-only cache also works without it."""

    def __init__(
        self,
        *,
        ttl: float,
        stale_grace: float,
        memory: MemoryStore,
        redis: RedisStore | None = None,
        clock: Clock = time.time,
    ) -> None:
        if ttl < 0 or stale_grace < 0:
            raise ValueError("ttl and stale_grace must be >= 0")
        self.ttl = ttl
        self.stale_grace = stale_grace
        self._memory = memory
        self._redis = redis
        self._clock = clock
        self._coalescer = Coalescer()
        self._hits = 0
        self._misses = 0
        self._stale = 0
        self._errors = 0  # entries that could not be encoded or decoded

    async def __aenter__(self) -> ResponseCache:
        if self._redis is not None:
            await self._redis.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._redis is not None:
            await self._redis.close()

    async def get(self, key: str) -> CacheEntry | None:
        """The fresh entry under `key`, or None. Counts a hit or a miss."""
        now = self._clock()
        entry = await self._read(key, now)
        if entry is not None and now < entry.expires_at:
            self._hits += 1
            return entry
        self._misses += 1
        return None

    async def get_stale(self, key: str) -> CacheEntry | None:
        """An entry to answer with when every target failed, or None.

        Normally an expired one within its grace period, marked ``stale=True``
        and counted as stale. Should another replica have refreshed the entry
        meanwhile, that fresh entry is returned (``stale=False``, counted as a
        hit). Falls back to the in-process copy when Redis has none.
        """
        now = self._clock()
        entry = await self._read(key, now)
        if entry is None and self._redis is not None:
            entry = self._memory.lookup(key, now)
        if entry is None:
            return None
        if now < entry.expires_at:
            self._hits += 1
            return entry
        self._stale += 1
        return dataclasses.replace(entry, stale=True)

    async def put(self, key: str, *, value: Any, target: str, ttl: float | None = None) -> None:
        """Store `value` (plain JSON) under `key` for `ttl` seconds (default: the cache's).

        A ttl of 0 with no stale grace stores nothing.
        """
        ttl = self.ttl if ttl is None else max(ttl, 0.0)
        keep_for = ttl + self.stale_grace
        if keep_for <= 0:
            return
        now = self._clock()
        entry = CacheEntry(value=value, target=target, stored_at=now, expires_at=now + ttl)
        if self._redis is None or not self._redis.is_up:
            self._memory.store(key, entry, now + keep_for)
            return
        try:
            encoded = encode_entry(entry)
        except TypeError as exc:
            self._errors += 1
            logger.warning("cache: %s is not plain JSON, kept in-process only: %s", key, exc)
            self._memory.store(key, entry, now + keep_for)
            return
        # Also kept in-process: answers while Redis is down, and saves decoding on reads.
        self._memory.store(key, entry, now + keep_for, encoded)
        with contextlib.suppress(RedisUnavailable):  # the breaker has logged the outage
            await self._redis.set(key, encoded, ttl_ms=math.ceil(keep_for * 1000))

    async def coalesce(self, key: str, fetch: Callable[[], Awaitable[T]]) -> T:
        """Run `fetch` once for all concurrent callers of the same `key`.

        Waiters get the leader's result or its exception; if the leader is
        cancelled, a waiter becomes the leader and fetches again.
        """
        return await self._coalescer.run(key, fetch)

    def stats(self) -> CacheStats:
        if self._redis is None:
            return CacheStats(
                backend="memory",
                redis_state="disabled",
                hits=self._hits,
                misses=self._misses,
                coalesced=self._coalescer.joined,
                stale=self._stale,
                errors=self._errors,
            )
        return CacheStats(
            backend="redis",
            redis_state=self._redis.state,
            hits=self._hits,
            misses=self._misses,
            coalesced=self._coalescer.joined,
            stale=self._stale,
            errors=self._errors + self._redis.errors,
        )

    async def _read(self, key: str, now: float) -> CacheEntry | None:
        """The entry still kept under `key` at `now` (fresh or stale), from the live store."""
        if self._redis is None or not self._redis.is_up:
            return self._memory.lookup(key, now)
        try:
            raw = await self._redis.get(key)
        except RedisUnavailable:
            return self._memory.lookup(key, now)
        if raw is None:
            return None
        entry = self._memory.lookup_encoded(key, raw)
        if entry is None:
            try:
                entry = decode_entry(raw)
            except EntryFormatError as exc:
                self._errors += 1
                logger.warning("cache: ignoring unreadable entry %s: %s", key, exc)
                return None
            self._memory.store(key, entry, entry.expires_at + self.stale_grace, raw)
        if now > entry.expires_at + self.stale_grace:
            return None
        return entry


def open_cache(
    redis_url: str | None,
    *,
    ttl: float,
    stale_grace: float | None = None,
    max_entries: int = 10_000,
    clock: Clock = time.time,
    redis_timeout: float = 0.1,
    probe_delay: float = 0.5,
    probe_delay_max: float = 10.0,
) -> ResponseCache:
    """The cache for `Settings`: in-process, or Redis at `redis_url` with in-process fallback.

    An empty `redis_url` counts as none. `stale_grace` defaults to `ttl`.
    `clock` gives wall-clock seconds (entries in Redis carry absolute expiry
    times, so replicas must agree on the time). Nothing connects until
    ``async with``.
    """
    grace = ttl if stale_grace is None else stale_grace
    redis = (
        None
        if not redis_url
        else RedisStore(
            redis_url,
            timeout=redis_timeout,
            probe_delay=probe_delay,
            probe_delay_max=probe_delay_max,
        )
    )
    return ResponseCache(
        ttl=ttl,
        stale_grace=grace,
        memory=MemoryStore(max_entries=max_entries),
        redis=redis,
        clock=clock,
    )
