"""The same MCP tool call made directly, through a bare proxy and through the coordinator.

    python bench/bench_route.py [--calls 2000] [--concurrency 16]

Starts one sample MCP server (JSON responses, pinned to CPU 1 when possible)
and one coordinator (`mcp-coordinator serve`, pinned to CPU 0), then measures,
interleaved in one run so machine noise hits both alike:
- direct: the coordinator's own upstream client calling the server;
- bare aiohttp proxy: the same call through `bench/bare_proxy.py`, a process that
  only forwards bytes (the least any Python proxy hop costs here), pinned to CPU 0;
- coordinator, gRPC / REST: Route(tool=..., no_cache) on the coordinator.
Prints p50/p99 latency and throughput, sequential and at the given concurrency,
and the coordinator's added p50 (budget: 1.0 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import grpc
import uvloop
from mcpcoordinator.v1 import coordinator_pb2 as pb
from mcpcoordinator.v1 import coordinator_pb2_grpc as pb_grpc

from coordinator.config import TargetConfig
from coordinator.targets import open_target

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.measure import percentile, pin  # noqa: E402
from tests.support.mcp_servers import SampleServer, free_port  # noqa: E402

API_KEY = "bench-key"
Call = Callable[[], Awaitable[object]]


async def measure(call: Call, calls: int, concurrency: int) -> tuple[list[float], float]:
    """Latencies (ms) of `calls` calls made by `concurrency` workers, and calls/s."""
    latencies: list[float] = []
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, calls / (time.perf_counter() - started)


async def main(calls: int, concurrency: int, rounds: int) -> None:
    server = await SampleServer("odoo_prod", "production", json_response=True).start()
    pin(server.pid, 1)
    grpc_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "ODOO_PROD_MCP_URL": server.url,
        "COORDINATOR_API_KEY": API_KEY,
        "GRPC_PORT": str(grpc_port),
        "PORT": str(http_port),
        "LOG_LEVEL": "WARNING",
    }
    coordinator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "coordinator", "serve", env=env, stdout=asyncio.subprocess.PIPE
    )
    proxy = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "bench" / "bare_proxy.py"),
        server.url,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert coordinator.stdout is not None
        assert proxy.stdout is not None
        await coordinator.stdout.readline()
        proxy_url = (await proxy.stdout.readline()).decode().split()[-1]
        pin(coordinator.pid, 0)
        pin(proxy.pid, 0)
        target = open_target(TargetConfig(name="odoo_prod", url=server.url))
        proxied = open_target(TargetConfig(name="odoo_prod", url=proxy_url))
        async with (
            target,
            proxied,
            grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel,
            aiohttp.ClientSession() as http,
        ):
            stub = pb_grpc.CoordinatorServiceStub(channel)
            params = {"name": "count_calls", "arguments": {}}
            request = pb.RouteRequest(tool="count_calls", no_cache=True)  # a live call each time
            metadata = (("x-api-key", API_KEY),)

            rest_url = f"http://127.0.0.1:{http_port}/route"
            rest_body = {"tool": "count_calls", "no_cache": True}
            rest_headers = {"X-API-Key": API_KEY}

            async def direct() -> object:
                return await target.request("tools/call", params, timeout=10)

            async def via_bare_proxy() -> object:
                return await proxied.request("tools/call", params, timeout=10)

            async def via_grpc() -> object:
                return await stub.Route(request, metadata=metadata, timeout=10)

            async def via_rest() -> object:
                async with http.post(rest_url, json=rest_body, headers=rest_headers) as answer:
                    return await answer.read()

            paths = (
                ("direct", direct),
                ("bare aiohttp proxy (yardstick)", via_bare_proxy),
                ("coordinator, gRPC", via_grpc),
                ("coordinator, REST", via_rest),
            )
            for _, call in paths:  # warm-up: sessions, connections, tool lists
                await measure(call, 200, concurrency)

            results: dict[tuple[str, int], list[tuple[list[float], float]]] = {}
            for _ in range(rounds):  # interleaved rounds: noise hits both paths alike
                for level in (1, concurrency):
                    for name, call in paths:
                        results.setdefault((name, level), []).append(
                            await measure(call, calls // rounds, level)
                        )
    finally:
        for process in (coordinator, proxy):
            process.terminate()
            await asyncio.wait_for(process.wait(), 15)
        await server.stop()

    print(f"{calls} calls per path and level, {rounds} interleaved rounds\n")
    print("| path | concurrency | p50 ms | p99 ms | req/s |")
    print("|---|---|---|---|---|")
    p50: dict[tuple[str, int], float] = {}
    for (name, level), runs in results.items():
        latencies = [value for run, _ in runs for value in run]
        throughput = statistics.median(rate for _, rate in runs)
        p50[(name, level)] = percentile(latencies, 0.50)
        print(
            f"| {name} | {level} | {p50[(name, level)]:.3f} | {percentile(latencies, 0.99):.3f}"
            f" | {throughput:,.0f} |"
        )
    for level in (1, concurrency):
        for name, _ in paths[1:]:
            added = p50[(name, level)] - p50[("direct", level)]
            print(f"added p50 at concurrency {level}, {name}: {added:.3f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    uvloop.run(main(args.calls, args.concurrency, args.rounds))
