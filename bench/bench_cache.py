"""Cache operation latency: in-process store vs Redis, in one bounded run.

    .venv/bin/python bench/bench_cache.py [--redis-url URL] [--iterations N] [--loop uvloop|asyncio]

Measures one operation at a time (no concurrency), after a warm-up, and prints
a Markdown table of p50/p99 in microseconds. Uses the Redis at --redis-url
(default $REDIS_URL or redis://127.0.0.1:6379/0) under a key namespace of its
own, deleted at the end. The full cache-hit Route (REST, gRPC) is measured by
the service benchmarks; this is the cache's share of it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.utils import HIREDIS_AVAILABLE

from coordinator.cache import ResponseCache, cache_key, open_cache

WARM_UP = 200

SMALL_RESULT: dict[str, Any] = {
    "content": [{"type": "text", "text": "Skills: " + ", ".join(f"skill {n}" for n in range(25))}],
    "isError": False,
}
LARGE_RESULT: dict[str, Any] = {
    "tools": [
        {
            "name": f"tool_{n}",
            "description": "Reads records of a model with a domain filter. " * 3,
            "inputSchema": {
                "type": "object",
                "properties": {
                    "model": {"type": "string"},
                    "domain": {"type": "array", "items": {"type": "array"}},
                    "fields": {"type": "array", "items": {"type": "string"}},
                    "limit": {"type": "integer", "minimum": 1},
                },
                "required": ["model"],
            },
            "annotations": {"readOnlyHint": True},
        }
        for n in range(30)
    ]
}


async def measure(operation: Callable[[], Awaitable[object]], iterations: int) -> list[float]:
    """Microseconds per call, one call at a time."""
    for _ in range(WARM_UP):
        await operation()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        await operation()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def row(name: str, samples: list[float]) -> str:
    quantiles = statistics.quantiles(samples, n=100)
    return f"| {name} | {statistics.median(samples):.1f} | {quantiles[98]:.1f} |"


def key_for(namespace: str, n: int) -> str:
    params = {"name": "ask", "arguments": {"query": f"List all skills {n}"}}
    return cache_key(namespace=namespace, target="odoo_prod", method="tools/call", params=params)


async def bench_store(
    label: str, cache: ResponseCache, namespace: str, iterations: int
) -> list[str]:
    small, large, missing = (key_for(namespace, n) for n in range(3))
    await cache.put(small, value=SMALL_RESULT, target="odoo_prod")
    await cache.put(large, value=LARGE_RESULT, target="odoo_prod")

    async def put_small() -> None:
        await cache.put(small, value=SMALL_RESULT, target="odoo_prod")

    async def key_and_get() -> object:
        return await cache.get(key_for(namespace, 0))

    rows = [
        row(
            f"{label} get, hit, 0.3 KB result", await measure(lambda: cache.get(small), iterations)
        ),
        row(f"{label} get, hit, 10 KB result", await measure(lambda: cache.get(large), iterations)),
        row(
            f"{label} cache_key + get, hit (a cached Route's share)",
            await measure(key_and_get, iterations),
        ),
        row(f"{label} get, miss", await measure(lambda: cache.get(missing), iterations)),
        row(f"{label} put, 0.3 KB result", await measure(put_small, iterations)),
    ]
    stats = cache.stats()
    assert stats.errors == 0, f"{label}: cache errors during the benchmark: {stats}"
    assert label == "memory" or stats.redis_state == "up", f"Redis went down: {stats}"
    return rows


async def bench_other_replica(redis_url: str, namespace: str, iterations: int) -> str:
    """First read of entries another replica wrote: the reader has to decode the JSON."""
    keys = [key_for(namespace, 1000 + n) for n in range(iterations + WARM_UP)]
    async with (
        open_cache(redis_url, ttl=300) as writer,
        open_cache(redis_url, ttl=300, max_entries=10) as reader,
    ):
        for name in keys:
            await writer.put(name, value=LARGE_RESULT, target="odoo_prod")
        unread = iter(keys)

        async def first_read() -> object:
            entry = await reader.get(next(unread))
            assert entry is not None
            return entry

        return row(
            "redis get, hit, 10 KB, first read by another replica",
            await measure(first_read, iterations),
        )


async def run(redis_url: str, iterations: int) -> None:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    lines = ["| operation | p50 µs | p99 µs |", "|---|---|---|"]

    async def key_only() -> str:
        return key_for(namespace, 7)

    lines.append(row("cache_key (canonical JSON + sha256)", await measure(key_only, iterations)))

    async with open_cache(None, ttl=300) as memory:
        lines += await bench_store("memory", memory, namespace, iterations)

    async with open_cache(redis_url, ttl=300) as shared:
        if shared.stats().redis_state != "up":
            raise SystemExit(f"Redis at {redis_url} is not reachable")
        lines += await bench_store("redis", shared, namespace, iterations)
    lines.append(await bench_other_replica(redis_url, namespace, min(iterations, 2000)))

    client = Redis.from_url(redis_url)
    try:
        baseline = key_for(namespace, 0)
        lines.append(
            row(
                "redis-py GET alone (baseline)",
                await measure(lambda: client.get(baseline), iterations),
            )
        )
        keys = [key async for key in client.scan_iter(match=f"mcpc:v1:{namespace}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()

    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    print(
        f"loop={args.loop} hiredis={HIREDIS_AVAILABLE} iterations={args.iterations} "
        f"redis={args.redis_url}\n"
    )
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(run(args.redis_url, args.iterations))
    else:
        asyncio.run(run(args.redis_url, args.iterations))


if __name__ == "__main__":
    main()
