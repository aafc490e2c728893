"""The Redis-backed cache against a real redis-server that each test starts on its own port."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from redis.asyncio import Redis

from coordinator.cache import ResponseCache, cache_key, open_cache
from tests.support.mcp_servers import free_port

from .support import ManualClock, RedisServer

TOOLS = {"tools": [{"name": "ask", "annotations": {"readOnlyHint": True}}]}
LOGGER = "coordinator.cache"


def key(n: int = 0) -> str:
    return cache_key(namespace="resp", target="odoo_prod", method="resources/read", params={"n": n})


def state_changes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The breaker's state-change log lines, in order: "down" or "up" each."""
    messages = [record.getMessage() for record in caplog.records if record.name == LOGGER]
    return ["down" if "is down" in m else "up" for m in messages if "is down" in m or "is up" in m]


async def wait_for_state(cache: ResponseCache, state: str) -> None:
    """Poll the breaker; only needed where a real redis-server restart is awaited."""
    deadline = time.monotonic() + 10
    while cache.stats().redis_state != state:
        assert time.monotonic() < deadline, f"redis_state stayed {cache.stats().redis_state}"
        await asyncio.sleep(0.01)


async def raw_ttl_ms(url: str, name: str) -> int:
    client = Redis.from_url(url)
    try:
        return int(await client.pttl(name))
    finally:
        await client.aclose()


async def test_entries_go_through_redis_with_expiry_and_grace_as_redis_ttl(
    redis_server: RedisServer, clock: ManualClock
) -> None:
    async with open_cache(redis_server.url, ttl=300, stale_grace=60, clock=clock) as cache:
        await cache.put(key(), value=TOOLS, target="odoo_prod")
        entry = await cache.get(key())

        assert entry is not None
        assert (entry.value, entry.target) == (TOOLS, "odoo_prod")
        assert entry.expires_at == clock.now + 300
        assert 355_000 < await raw_ttl_ms(redis_server.url, key()) <= 360_000
        stats = cache.stats()
        assert (stats.backend, stats.redis_state, stats.hits, stats.errors) == ("redis", "up", 1, 0)


async def test_replicas_share_entries_and_agree_on_their_expiry(
    redis_server: RedisServer, clock: ManualClock
) -> None:
    replica_clock = ManualClock(clock.now + 100)
    async with (
        open_cache(redis_server.url, ttl=300, clock=clock) as first,
        open_cache(redis_server.url, ttl=300, clock=replica_clock) as second,
    ):
        await first.put(key(), value=TOOLS, target="odoo_prod")
        seen = await second.get(key())
        assert seen is not None
        assert (seen.value, seen.stored_at) == (TOOLS, clock.now)

        replica_clock.advance(200)  # 300 s after the first replica stored it
        assert await second.get(key()) is None
        stale = await second.get_stale(key())
        assert stale is not None
        assert stale.stale


async def test_ttl_zero_writes_nothing_to_redis(redis_server: RedisServer) -> None:
    async with open_cache(redis_server.url, ttl=0) as cache:
        await cache.put(key(), value=TOOLS, target="odoo_prod")
        assert await cache.get(key()) is None
        assert await raw_ttl_ms(redis_server.url, key()) == -2  # no such key
        assert cache.stats().errors == 0


async def test_unreadable_entry_is_a_miss_not_a_failure(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url)
    await client.set(key(), b"\x00not json")
    await client.aclose()
    async with open_cache(redis_server.url, ttl=300) as cache:
        assert await cache.get(key()) is None
        stats = cache.stats()
        assert (stats.misses, stats.errors, stats.redis_state) == (1, 1, "up")


async def test_value_that_is_not_json_stays_in_process(redis_server: RedisServer) -> None:
    async with open_cache(redis_server.url, ttl=300) as cache:
        await cache.put(key(), value={"when": object()}, target="odoo_prod")
        assert await raw_ttl_ms(redis_server.url, key()) == -2
        assert cache.stats().redis_state == "up"


async def test_redis_down_at_start_up_serves_from_memory_then_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    late = RedisServer(free_port())
    try:
        async with open_cache(late.url, ttl=300, probe_delay=0.02) as cache:
            assert cache.stats().redis_state == "down"
            for n in range(20):
                await cache.put(key(n), value={"n": n}, target="odoo_prod")
                entry = await cache.get(key(n))
                assert entry is not None
                assert entry.value == {"n": n}
            stats = cache.stats()
            assert (stats.backend, stats.redis_state, stats.hits) == ("redis", "down", 20)

            late.start()
            await wait_for_state(cache, "up")
            await cache.put(key(99), value={"n": 99}, target="odoo_prod")
            assert await raw_ttl_ms(late.url, key(99)) > 0
    finally:
        late.kill()
    assert state_changes(caplog) == ["down", "up"]


async def test_redis_killed_mid_run_then_restarted(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with open_cache(redis_server.url, ttl=300, probe_delay=0.02) as cache:
        await cache.put(key(0), value={"n": 0}, target="odoo_prod")
        assert cache.stats().redis_state == "up"

        redis_server.kill()
        # Concurrent traffic across the outage: nothing raises, earlier entries still answer.
        outcomes = await asyncio.gather(
            *(cache.get(key(0)) for _ in range(20)),
            *(cache.put(key(n), value={"n": n}, target="odoo_prod") for n in range(1, 20)),
            *(cache.get_stale(key(0)) for _ in range(5)),
            return_exceptions=True,
        )
        assert not [o for o in outcomes if isinstance(o, BaseException)]
        entries = [await cache.get(key(n)) for n in range(20)]
        values = [entry.value if entry is not None else None for entry in entries]
        assert values == [{"n": n} for n in range(20)]
        assert cache.stats().redis_state == "down"
        assert cache.stats().errors >= 1

        redis_server.start()
        await wait_for_state(cache, "up")
        await cache.put(key(99), value={"n": 99}, target="odoo_prod")
        assert await raw_ttl_ms(redis_server.url, key(99)) > 0
        assert await cache.get(key(99)) is not None

    assert state_changes(caplog) == ["down", "up"]


async def test_hung_redis_times_out_fast_and_falls_back(redis_server: RedisServer) -> None:
    async with open_cache(redis_server.url, ttl=300, probe_delay=0.02) as cache:
        await cache.put(key(), value=TOOLS, target="odoo_prod")
        redis_server.pause()
        try:
            async with asyncio.timeout(5):  # guards against a hang; the client gives up at 0.1 s
                entry = await cache.get(key())
            assert entry is not None
            assert entry.value == TOOLS
            assert cache.stats().redis_state == "down"
        finally:
            redis_server.resume()
        await wait_for_state(cache, "up")


async def test_stale_entry_from_memory_when_redis_lost_it(
    redis_server: RedisServer, clock: ManualClock
) -> None:
    async with open_cache(redis_server.url, ttl=300, clock=clock) as cache:
        await cache.put(key(), value=TOOLS, target="odoo_prod")
        redis_server.restart()  # --save "": the restarted server is empty
        clock.advance(400)
        stale = await cache.get_stale(key())
        assert stale is not None
        assert (stale.value, stale.stale) == (TOOLS, True)
        assert cache.stats().stale == 1


async def test_redis_stays_the_truth_over_local_copies(
    redis_server: RedisServer, clock: ManualClock
) -> None:
    # A generous Redis timeout: under a loaded test run the default 0.1 s was once exceeded,
    # and a timed-out read is a miss, which is not what this test is about.
    async with (
        open_cache(redis_server.url, ttl=300, clock=clock, redis_timeout=2.0) as writer,
        open_cache(redis_server.url, ttl=300, clock=clock, redis_timeout=2.0) as reader,
    ):
        await writer.put(key(), value={"version": 1}, target="odoo_prod")
        first = await reader.get(key())
        assert first is not None
        assert first.value == {"version": 1}

        clock.advance(1)
        await writer.put(key(), value={"version": 2}, target="odoo_lab")
        second = await reader.get(key())
        assert second is not None
        assert (second.value, second.target) == ({"version": 2}, "odoo_lab")

        client = Redis.from_url(redis_server.url)
        await client.delete(key())
        await client.aclose()
        assert await reader.get(key()) is None
        assert await writer.get(key()) is None
