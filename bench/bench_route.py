"""The same MCP tool call made directly, through a bare proxy and through the coordinator.

    python bench/bench_route.py [--clients native|python] [--calls 2000] [--concurrency 16]

Starts one sample MCP server (JSON responses, pinned to CPU 1 when possible)
and one coordinator (`mcp-coordinator serve`, pinned to CPU 0), then measures,
interleaved in one run so machine noise hits both alike:
- direct: the coordinator's own upstream client calling the server;
- bare aiohttp proxy: the same call through `bench/bare_proxy.py`, a process that
  only forwards bytes (the least any Python proxy hop costs here), pinned to CPU 0;
- coordinator, gRPC / REST: Route(tool=..., no_cache) on the coordinator.
Prints p50/p99 latency and throughput, sequential and at the given concurrency,
and the coordinator's added p50 (budget: 1.0 ms).

`--clients native` (the default) drives every HTTP path with wrk and the gRPC
path with Node.js grpc-js (`bench/loadgen.py`), each pinned to CPU 0 beside the
coordinator (whose CPU it shares, as a local caller would), for `--seconds` per
path and level; `--clients python` uses the coordinator's own aiohttp client and
grpc.aio in this process, whose own cost then lands in every row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

from bench import loadgen  # noqa: E402
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


# The stateless (2026-07-28) tools/call that `HttpTarget` sends, as raw HTTP for wrk.
DIRECT_BODY = (
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"count_calls",'
    b'"arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    b'"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"0"},'
    b'"io.modelcontextprotocol/clientCapabilities":{}}}}'
)
DIRECT_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": "tools/call",
    "Mcp-Name": "count_calls",
}
ROUTE_REQUEST = {"tool": "count_calls", "no_cache": True}  # a live upstream call each time


def native_paths(
    server_url: str, proxy_url: str, http_port: int, grpc_port: int, seconds: float, calls: int
) -> tuple[tuple[str, Callable[[int], loadgen.LoadResult]], ...]:
    """(name, run(concurrency)) per path; every client pinned to CPU 0."""
    rest_headers = {"Content-Type": "application/json", "X-API-Key": API_KEY}
    rest_body = json.dumps(ROUTE_REQUEST).encode()

    def http(url: str, body: bytes, headers: dict[str, str]) -> Callable[[int], loadgen.LoadResult]:
        return lambda level: loadgen.wrk(
            url, body=body, headers=headers, connections=level, seconds=seconds, cpu=0
        )

    def via_grpc(level: int) -> loadgen.LoadResult:
        return loadgen.grpc_node(
            f"127.0.0.1:{grpc_port}",
            ROUTE_REQUEST,
            api_key=API_KEY,
            calls=calls,
            concurrency=level,
            warmup=100,
            cpu=0,
            expect_cached=False,
        )

    return (
        ("direct", http(server_url, DIRECT_BODY, DIRECT_HEADERS)),
        ("bare aiohttp proxy (yardstick)", http(proxy_url, DIRECT_BODY, DIRECT_HEADERS)),
        ("coordinator, gRPC", via_grpc),
        ("coordinator, REST", http(f"http://127.0.0.1:{http_port}/route", rest_body, rest_headers)),
    )


async def main(
    calls: int, concurrency: int, rounds: int, clients: str = "native", seconds: float = 4.0
) -> None:
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
        if clients == "native":
            native_runs = native_paths(server.url, proxy_url, http_port, grpc_port, seconds, calls)
            native: dict[tuple[str, int], list[loadgen.LoadResult]] = {}
            for _, run in native_runs:  # warm-up: sessions, connections, tool lists
                await asyncio.to_thread(run, 1)
            for _ in range(rounds):  # interleaved rounds: noise hits every path alike
                for level in (1, concurrency):
                    for name, run in native_runs:
                        result = await asyncio.to_thread(run, level)
                        native.setdefault((name, level), []).append(result)
            report_native(native, [name for name, _ in native_runs], concurrency, rounds, seconds)
            return
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


def report_native(
    results: dict[tuple[str, int], list[loadgen.LoadResult]],
    names: list[str],
    concurrency: int,
    rounds: int,
    seconds: float,
) -> None:
    """Medians over the rounds of each run's p50, p99 and req/s."""
    print(f"wrk / Node.js grpc-js clients, {rounds} interleaved rounds, {seconds:g} s per run\n")
    print("| path | concurrency | p50 ms | p99 ms | req/s |")
    print("|---|---|---|---|---|")
    p50: dict[tuple[str, int], float] = {}
    for level in (1, concurrency):
        for name in names:
            runs = results[(name, level)]
            p50[(name, level)] = statistics.median(run.p50_ms for run in runs)
            p99 = statistics.median(run.p99_ms for run in runs)
            rps = statistics.median(run.rps for run in runs)
            print(f"| {name} | {level} | {p50[(name, level)]:.3f} | {p99:.3f} | {rps:,.0f} |")
    for level in (1, concurrency):
        for name in names[1:]:
            added = p50[(name, level)] - p50[("direct", level)]
            print(f"added p50 at concurrency {level}, {name}: {added:.3f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", choices=("native", "python"), default="native")
    parser.add_argument("--calls", type=int, default=2000, help="per path and level (gRPC, python)")
    parser.add_argument("--seconds", type=float, default=4.0, help="per wrk run (native)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    if args.clients == "native":
        loadgen.require_tools()
    uvloop.run(main(args.calls, args.concurrency, args.rounds, args.clients, args.seconds))
