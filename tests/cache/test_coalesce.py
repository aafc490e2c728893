"""Single-flight: concurrent identical misses share one upstream call."""

from __future__ import annotations

import asyncio

import pytest

from coordinator.cache import ResponseCache, open_cache


class Upstream:
    """Counts fetches; each fetch waits until the test releases it."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.failure: Exception | None = None

    async def fetch(self) -> dict[str, object]:
        self.calls += 1
        call = self.calls
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        return {"content": [{"type": "text", "text": f"answer {call}"}]}


async def settle() -> None:
    """Let every runnable task reach its next await (no time passes)."""
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.fixture
def cache() -> ResponseCache:
    return open_cache(None, ttl=300)


async def test_hundred_concurrent_misses_make_one_call(cache: ResponseCache) -> None:
    upstream = Upstream()
    tasks = [asyncio.create_task(cache.coalesce("k", upstream.fetch)) for _ in range(100)]
    await settle()
    upstream.release.set()
    results = await asyncio.gather(*tasks)

    assert upstream.calls == 1
    assert all(result == {"content": [{"type": "text", "text": "answer 1"}]} for result in results)
    assert cache.stats().coalesced == 99


async def test_different_keys_do_not_share(cache: ResponseCache) -> None:
    upstream = Upstream()
    tasks = [asyncio.create_task(cache.coalesce(f"k{n % 2}", upstream.fetch)) for n in range(10)]
    await settle()
    upstream.release.set()
    await asyncio.gather(*tasks)
    assert upstream.calls == 2


async def test_a_later_call_fetches_again(cache: ResponseCache) -> None:
    upstream = Upstream()
    upstream.release.set()
    await cache.coalesce("k", upstream.fetch)
    await cache.coalesce("k", upstream.fetch)
    assert upstream.calls == 2


async def test_leader_failure_reaches_every_waiter(cache: ResponseCache) -> None:
    upstream = Upstream()
    upstream.failure = ConnectionError("odoo_prod unreachable")
    tasks = [asyncio.create_task(cache.coalesce("k", upstream.fetch)) for _ in range(10)]
    await settle()
    upstream.release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)

    assert upstream.calls == 1
    assert all(outcome is upstream.failure for outcome in outcomes)

    upstream.failure = None  # the failed flight is over: the next call fetches
    assert await cache.coalesce("k", upstream.fetch) == {
        "content": [{"type": "text", "text": "answer 2"}]
    }


async def test_cancelled_leader_hands_over_to_a_waiter(cache: ResponseCache) -> None:
    upstream = Upstream()
    leader = asyncio.create_task(cache.coalesce("k", upstream.fetch))
    await settle()
    waiters = [asyncio.create_task(cache.coalesce("k", upstream.fetch)) for _ in range(5)]
    await settle()

    leader.cancel()
    await settle()
    assert upstream.calls == 2  # one waiter took over and fetched
    upstream.release.set()
    results = await asyncio.gather(*waiters)

    assert leader.cancelled()
    assert all(result == {"content": [{"type": "text", "text": "answer 2"}]} for result in results)
    assert upstream.calls == 2


async def test_cancelled_waiter_leaves_the_others_alone(cache: ResponseCache) -> None:
    upstream = Upstream()
    leader = asyncio.create_task(cache.coalesce("k", upstream.fetch))
    await settle()
    quitter = asyncio.create_task(cache.coalesce("k", upstream.fetch))
    stayer = asyncio.create_task(cache.coalesce("k", upstream.fetch))
    await settle()

    quitter.cancel()
    await settle()
    upstream.release.set()

    assert await leader == await stayer == {"content": [{"type": "text", "text": "answer 1"}]}
    assert quitter.cancelled()
    assert upstream.calls == 1


async def test_waiter_with_its_own_deadline_does_not_hang(cache: ResponseCache) -> None:
    upstream = Upstream()
    leader = asyncio.create_task(cache.coalesce("k", upstream.fetch))
    await settle()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0):
            await cache.coalesce("k", upstream.fetch)
    upstream.release.set()
    assert await leader == {"content": [{"type": "text", "text": "answer 1"}]}
