"""The in-process cache, with a clock the tests move by hand."""

from __future__ import annotations

import pytest

from coordinator.cache import CacheEntry, CacheStats, cache_key, open_cache

from .support import ManualClock

KEY = cache_key(namespace="resp", target="odoo_prod", method="tools/list", params=None)
TOOLS = {"tools": [{"name": "ask", "inputSchema": {"type": "object"}}]}


async def test_put_then_get_is_a_hit_carrying_value_target_and_expiry(clock: ManualClock) -> None:
    async with open_cache(None, ttl=300, clock=clock) as cache:
        await cache.put(KEY, value=TOOLS, target="odoo_prod")
        entry = await cache.get(KEY)

    assert entry == CacheEntry(
        value=TOOLS,
        target="odoo_prod",
        stored_at=clock.now,
        expires_at=clock.now + 300,
        stale=False,
    )
    assert cache.stats() == CacheStats(
        backend="memory", redis_state="disabled", hits=1, misses=0, coalesced=0, stale=0, errors=0
    )


async def test_unknown_key_is_a_miss(clock: ManualClock) -> None:
    cache = open_cache(None, ttl=300, clock=clock)
    assert await cache.get(KEY) is None
    assert cache.stats().misses == 1


async def test_entry_expires_after_ttl_then_serves_stale_during_grace(clock: ManualClock) -> None:
    cache = open_cache(None, ttl=300, clock=clock)  # grace defaults to the ttl
    await cache.put(KEY, value=TOOLS, target="odoo_prod")
    stored_at = clock.now

    clock.advance(299.9)
    assert await cache.get(KEY) is not None
    clock.advance(0.1)
    assert await cache.get(KEY) is None

    stale = await cache.get_stale(KEY)
    assert stale is not None
    assert stale.stale
    assert (stale.value, stale.target, stale.stored_at) == (TOOLS, "odoo_prod", stored_at)

    clock.advance(300.1)
    assert await cache.get_stale(KEY) is None
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.stale) == (1, 1, 1)


async def test_get_stale_returns_a_fresh_entry_unmarked(clock: ManualClock) -> None:
    cache = open_cache(None, ttl=300, clock=clock)
    await cache.put(KEY, value=TOOLS, target="odoo_prod")
    entry = await cache.get_stale(KEY)
    assert entry is not None
    assert not entry.stale
    assert cache.stats().stale == 0


async def test_explicit_grace_and_zero_grace(clock: ManualClock) -> None:
    cache = open_cache(None, ttl=10, stale_grace=0, clock=clock)
    await cache.put(KEY, value=TOOLS, target="odoo_prod")
    clock.advance(10.001)
    assert await cache.get_stale(KEY) is None

    cache = open_cache(None, ttl=10, stale_grace=60, clock=clock)
    await cache.put(KEY, value=TOOLS, target="odoo_prod")
    clock.advance(69)
    assert await cache.get_stale(KEY) is not None


async def test_put_with_its_own_ttl(clock: ManualClock) -> None:
    cache = open_cache(None, ttl=300, stale_grace=0, clock=clock)
    await cache.put(KEY, value={"target": "odoo_lab"}, target="odoo_lab", ttl=5)
    clock.advance(5)
    assert await cache.get(KEY) is None


async def test_ttl_zero_stores_nothing(clock: ManualClock) -> None:
    cache = open_cache(None, ttl=0, clock=clock)
    await cache.put(KEY, value=TOOLS, target="odoo_prod")
    assert await cache.get(KEY) is None
    assert await cache.get_stale(KEY) is None


async def test_a_newer_put_replaces_the_entry(clock: ManualClock) -> None:
    cache = open_cache(None, ttl=300, clock=clock)
    await cache.put(KEY, value={"tools": []}, target="odoo_prod")
    clock.advance(200)
    await cache.put(KEY, value=TOOLS, target="odoo_lab")
    clock.advance(200)
    entry = await cache.get(KEY)
    assert entry is not None
    assert (entry.value, entry.target) == (TOOLS, "odoo_lab")


async def test_size_is_bounded_and_recently_read_entries_survive(clock: ManualClock) -> None:
    cache = open_cache(None, ttl=300, max_entries=3, clock=clock)
    keys = [
        cache_key(namespace="resp", target="t", method="resources/read", params={"uri": f"r{n}"})
        for n in range(4)
    ]
    for key in keys[:3]:
        await cache.put(key, value={"contents": [key]}, target="t")
    assert await cache.get(keys[0]) is not None  # keys[1] is now the least recently used

    await cache.put(keys[3], value={"contents": []}, target="t")

    assert await cache.get(keys[1]) is None
    assert [await cache.get(k) is not None for k in (keys[0], keys[2], keys[3])] == [True] * 3


def test_negative_ttl_is_rejected() -> None:
    with pytest.raises(ValueError, match="ttl"):
        open_cache(None, ttl=-1)
