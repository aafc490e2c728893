"""Upstream MCP client benchmark: the cost of one `tools/call` to a downstream server.

Compares, on the same sample server (a subprocess pinned to CPU 0, JSON
responses; the clients run pinned to CPU 1):
- sdk:        the MCP SDK's `mcp.Client` (auto mode -> 2026-07-28, response cache off)
- httpx:      a lean JSON-RPC client over httpx.AsyncClient (2026-07-28 envelope)
- aiohttp:    a lean JSON-RPC client over aiohttp (2026-07-28 envelope)
- target:     coordinator.targets.HttpTarget (aiohttp; what the coordinator uses), 2026-07-28
- target-legacy: the same, forced to the 2025-11-25 session generation
each sequentially and at concurrency 16, a bounded number of calls each.

    .venv/bin/python bench/bench_upstream.py [--calls 2000] [--concurrency 16] \\
        [--only target,aiohttp]

Prints one row per run: p50/p99 latency per call (ms), throughput (calls/s) and
the client's own CPU time per call (µs, the part the coordinator pays); with
--rounds N every run is repeated N times, interleaved, and the medians follow.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402

from bench.measure import percentile  # noqa: E402
from coordinator.targets import open_target  # noqa: E402
from tests.support.mcp_servers import SampleServer  # noqa: E402

Call = Callable[[], Awaitable[Any]]
TOOL = "count_calls"
META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": "tools/call",
    "Mcp-Name": TOOL,
}


def _body(request_id: int) -> bytes:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": TOOL, "arguments": {}, "_meta": META},
        },
        separators=(",", ":"),
    ).encode()


def _check(message: Any) -> None:
    if not isinstance(message, dict) or "result" not in message or message["result"].get("isError"):
        raise RuntimeError(f"bad answer: {message!r:.200}")


@contextlib.asynccontextmanager
async def sdk_client(url: str) -> AsyncIterator[Call]:
    from mcp import Client

    async with Client(url, cache=None) as client:

        async def call() -> Any:
            result = await client.call_tool(TOOL, {})
            if result.is_error:
                raise RuntimeError("tool error")
            return result

        yield call


@contextlib.asynccontextmanager
async def httpx_client(url: str) -> AsyncIterator[Call]:
    ids = itertools.count(1)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as http:

        async def call() -> Any:
            resp = await http.post(url, content=_body(next(ids)), headers=HEADERS)
            message = resp.json()
            _check(message)
            return message

        yield call


@contextlib.asynccontextmanager
async def aiohttp_client(url: str) -> AsyncIterator[Call]:
    ids = itertools.count(1)
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def call() -> Any:
            async with http.post(url, data=_body(next(ids)), headers=HEADERS) as resp:
                message = json.loads(await resp.read())
            _check(message)
            return message

        yield call


def _target_client(protocol: str) -> Callable[[str], contextlib.AbstractAsyncContextManager[Call]]:
    @contextlib.asynccontextmanager
    async def client(url: str) -> AsyncIterator[Call]:
        from coordinator.config import TargetConfig

        target = open_target(TargetConfig(name="bench", url=url, protocol=protocol))  # type: ignore[arg-type]
        async with target:

            async def call() -> Any:
                result = await target.request(
                    "tools/call", {"name": TOOL, "arguments": {}}, timeout=30.0
                )
                if result.get("isError"):
                    raise RuntimeError("tool error")
                return result

            yield call

    return client


CLIENTS: dict[str, Callable[[str], contextlib.AbstractAsyncContextManager[Call]]] = {
    "sdk": sdk_client,
    "httpx": httpx_client,
    "aiohttp": aiohttp_client,
    "target": _target_client("2026-07-28"),
    "target-legacy": _target_client("2025-11-25"),
}


async def run(call: Call, calls: int, concurrency: int) -> tuple[list[float], float, float]:
    latencies: list[float] = []
    remaining = iter(range(calls))

    async def worker() -> None:
        for _ in remaining:
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    for _ in range(min(200, calls // 10)):  # warm-up: connections, caches, JIT-free Python paths
        await call()
    begin = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - begin, time.process_time() - cpu


async def main(args: argparse.Namespace) -> None:
    names = args.only.split(",") if args.only else list(CLIENTS)
    server = SampleServer("bench", "production", protocol="both", json_response=not args.sse)
    async with server:
        if args.pin:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(server.pid, {0})
                os.sched_setaffinity(0, {1})
        replies = "SSE" if args.sse else "JSON"
        print(f"server {server.url} ({replies} responses), {args.calls} calls per run")
        header = (
            f"{'client':<14} {'conc':>4} {'p50 ms':>8} {'p99 ms':>8} {'calls/s':>8} {'cpu us':>7}"
        )
        print(header)
        rows: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {}
        for _ in range(args.rounds):  # interleaved, so a noisy moment hits every client alike
            for name in names:
                for concurrency in (1, args.concurrency):
                    async with CLIENTS[name](server.url) as call:
                        latencies, elapsed, cpu = await run(call, args.calls, concurrency)
                    row = (
                        statistics.median(latencies) * 1000,
                        percentile(latencies, 0.99) * 1000,
                        len(latencies) / elapsed,
                        cpu / len(latencies) * 1e6,
                    )
                    rows.setdefault((name, concurrency), []).append(row)
                    print(f"{name:<14} {concurrency:>4} " + _cells(row), flush=True)
        if args.rounds > 1:
            print(f"median of {args.rounds} rounds")
            print(header)
            for (name, concurrency), runs in rows.items():
                row = cast(
                    "tuple[float, float, float, float]",
                    tuple(statistics.median(r[i] for r in runs) for i in range(4)),
                )
                print(f"{name:<14} {concurrency:>4} " + _cells(row))


def _cells(row: tuple[float, ...]) -> str:
    p50, p99, rate, cpu = row
    return f"{p50:8.2f} {p99:8.2f} {rate:8.0f} {cpu:7.0f}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1, help="repeat every run, interleaved")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(CLIENTS)}")
    parser.add_argument("--sse", action="store_true", help="server answers with SSE streams")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="do not pin server and client to CPUs"
    )
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.loop == "uvloop":
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
