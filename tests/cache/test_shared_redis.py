"""Against the shared Redis at REDIS_URL, in a key namespace of the test's own."""

from __future__ import annotations

from redis.asyncio import Redis

from coordinator.cache import cache_key, open_cache

from .support import SHARED_REDIS_URL, ManualClock


async def test_two_caches_share_entries_through_the_shared_redis(
    shared_redis_namespace: str, clock: ManualClock
) -> None:
    name = cache_key(
        namespace=shared_redis_namespace,
        target="odoo_prod",
        method="prompts/get",
        params={"name": "summary", "arguments": {"period": "2026-Q3"}},
    )
    async with (
        open_cache(SHARED_REDIS_URL, ttl=30, clock=clock) as writer,
        open_cache(SHARED_REDIS_URL, ttl=30, clock=clock) as reader,
    ):
        assert writer.stats().redis_state == "up"
        assert await reader.get(name) is None
        await writer.put(name, value={"messages": []}, target="odoo_prod")
        entry = await reader.get(name)

    assert entry is not None
    assert (entry.value, entry.target) == ({"messages": []}, "odoo_prod")
    client = Redis.from_url(SHARED_REDIS_URL)
    try:
        assert [key async for key in client.scan_iter(match=f"mcpc:v1:{shared_redis_namespace}:*")]
    finally:
        await client.aclose()


async def test_a_replica_rereading_unchanged_bytes_reuses_its_decoded_entry(
    shared_redis_namespace: str, clock: ManualClock
) -> None:
    name = cache_key(
        namespace=shared_redis_namespace,
        target="odoo_prod",
        method="tools/list",
        params={},
    )
    async with (
        open_cache(SHARED_REDIS_URL, ttl=30, clock=clock) as reader,
        open_cache(SHARED_REDIS_URL, ttl=30, clock=clock) as writer,
    ):
        assert reader.stats().redis_state == "up"
        await writer.put(name, value={"tools": [{"name": "ask"}]}, target="odoo_prod")
        first = await reader.get(name)
        second = await reader.get(name)

        assert first is not None
        assert second is not None
        assert first.value == {"tools": [{"name": "ask"}]}
        assert second.value is first.value  # same bytes in Redis: not decoded again

        # Another replica replaces the entry: the bytes differ, so the local copy is not used.
        await writer.put(name, value={"tools": [{"name": "search"}]}, target="odoo_prod")
        third = await reader.get(name)

        assert third is not None
        assert third.value == {"tools": [{"name": "search"}]}
        assert third.value is not first.value
