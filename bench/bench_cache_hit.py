"""A cache-hit Route through the whole coordinator, over REST and over gRPC.

    python bench/bench_cache_hit.py [--calls 3000] [--concurrency 16]

Starts one sample MCP server and `mcp-coordinator serve` (pinned to CPU 0; this
client pinned to CPU 1), once with the in-process cache and once with Redis
(`REDIS_URL`, default redis://127.0.0.1:6379/0). The request is a read-only
tool call, so after the first call every answer is a cache hit
(`routing.cached: true`, checked). Per cache and door: sequential p50/p99,
throughput at the given concurrency, and the coordinator's CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import grpc
import uvloop
from google.protobuf import json_format

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mcpcoordinator.v1 import coordinator_pb2 as pb  # noqa: E402
from mcpcoordinator.v1 import coordinator_pb2_grpc as pb_grpc  # noqa: E402

from bench.measure import cpu_seconds, percentile, pin  # noqa: E402
from tests.support.mcp_servers import SampleServer, free_port  # noqa: E402

API_KEY = "bench-key"
BODY = {"tool": "get_record", "arguments": {"model": "hr.expense", "record_id": 1}}
Call = Callable[[], Awaitable[None]]


async def sequential(call: Call, calls: int) -> list[float]:
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def throughput(call: Call, calls: int, concurrency: int, pid: int) -> tuple[float, float]:
    """(requests per second, server CPU microseconds per request)."""
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
    return calls / elapsed, cpu / calls * 1e6


async def measure(url: str, redis_url: str | None, calls: int, concurrency: int) -> list[str]:
    grpc_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "ODOO_PROD_MCP_URL": url,
        "COORDINATOR_API_KEY": API_KEY,
        "GRPC_PORT": str(grpc_port),
        "PORT": str(http_port),
        "LOG_LEVEL": "WARNING",
        "PROBE_INTERVAL": "3600",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "coordinator", "serve", env=env, stdout=asyncio.subprocess.PIPE
    )
    rows = []
    try:
        assert server.stdout is not None
        await server.stdout.readline()
        pin(server.pid, 0)
        rest_url = f"http://127.0.0.1:{http_port}/route"
        headers = {"X-API-Key": API_KEY}
        metadata = (("x-api-key", API_KEY),)
        request = json_format.ParseDict(BODY, pb.RouteRequest())
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel,
        ):
            stub = pb_grpc.CoordinatorServiceStub(channel)

            async def rest() -> None:
                async with http.post(rest_url, json=BODY, headers=headers) as response:
                    answer = await response.json()
                assert answer["routing"]["cached"], answer

            async def via_grpc() -> None:
                answer = await stub.Route(request, metadata=metadata, timeout=10)
                assert answer.routing.cached

            async with http.post(rest_url, json=BODY, headers=headers) as response:
                await response.read()  # the one miss: fills the cache
            for call in (rest, via_grpc):
                await sequential(call, 300)
            backend = "redis" if redis_url else "memory"
            results: dict[str, tuple[list[float], float, float]] = {}
            for name, call in (("REST", rest), ("gRPC", via_grpc)):
                latencies = await sequential(call, calls)
                rate, cpu = await throughput(call, calls * 3, concurrency, server.pid)
                results[name] = (latencies, rate, cpu)
            for name, (latencies, rate, cpu) in results.items():
                rows.append(
                    f"| {backend} | {name} | {percentile(latencies, 0.5):.3f}"
                    f" | {percentile(latencies, 0.99):.3f} | {rate:,.0f} | {cpu:.0f} |"
                )
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)
    return rows


async def main(calls: int, concurrency: int, redis_url: str) -> None:
    sample = await SampleServer("odoo_prod", "production").start()
    pin(os.getpid(), 1)
    try:
        rows = await measure(sample.url, None, calls, concurrency)
        rows += await measure(sample.url, redis_url, calls, concurrency)
    finally:
        await sample.stop()
    print(json.dumps({"calls": calls, "concurrency": concurrency}))
    print("| cache | door | p50 ms | p99 ms | req/s at concurrency | server CPU µs/req |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    uvloop.run(main(args.calls, args.concurrency, args.redis_url))
