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
