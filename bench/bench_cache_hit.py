"""A cache-hit Route through the whole coordinator, over REST and over gRPC.

    python bench/bench_cache_hit.py [--seconds 5] [--calls 6000] [--concurrency 16]

Starts one sample MCP server and `mcp-coordinator serve` (pinned to CPU 0),
once with the in-process cache and once with Redis (`REDIS_URL`, default
redis://127.0.0.1:6379/0). The request is a read-only tool call, so after the
first call every answer is a cache hit (`routing.cached: true`, checked). The
load comes from outside Python, pinned to CPU 1 (`bench/loadgen.py`): wrk for
REST, Node.js grpc-js for gRPC. Per cache and door: sequential p50/p99 (one
connection, one call at a time), req/s at `--concurrency`, and the
coordinator's CPU per request during that run.

The same clients measure two yardsticks in the same run, each a server
process pinned to CPU 0 that answers Route with a prebuilt response (from
`bench/bench_rest_vs_grpc.py`): a bare Starlette route and a bare grpc.aio
handler, i.e. what the HTTP stack and grpc.aio alone cost on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import aiohttp
import uvloop

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import loadgen  # noqa: E402
from bench.bench_rest_vs_grpc import REQUEST_JSON, start_server  # noqa: E402
from bench.measure import pin  # noqa: E402
from tests.support.mcp_servers import SampleServer, free_port  # noqa: E402

API_KEY = "bench-key"
BODY: dict[str, object] = {
    "tool": "get_record",
    "arguments": {"model": "hr.expense", "record_id": 1},
}
SERVER_CPU, CLIENT_CPU = 0, 1
HEADERS = {"Content-Type": "application/json", "X-API-Key": API_KEY}

Row = tuple[str, str, loadgen.DoorProfile]


class Runs:
    """How each server is driven: the same clients and amounts for every row."""

    def __init__(self, seconds: float, calls: int, concurrency: int) -> None:
        self.seconds, self.calls, self.concurrency = seconds, calls, concurrency

    def rest(self, pid: int, url: str, body: bytes) -> loadgen.DoorProfile:
        return loadgen.profile_rest(
            url,
            body,
            headers=HEADERS,
            pid=pid,
            seconds=self.seconds,
            concurrency=self.concurrency,
            cpu=CLIENT_CPU,
        )

    def grpc(self, pid: int, port: int, request: dict[str, object]) -> loadgen.DoorProfile:
        return loadgen.profile_grpc(
            f"127.0.0.1:{port}",
            request,
            api_key=API_KEY,
            pid=pid,
            calls=self.calls,
            concurrency=self.concurrency,
            cpu=CLIENT_CPU,
            expect_cached=True,
        )


async def coordinator_rows(url: str, redis_url: str | None, runs: Runs) -> list[Row]:
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
    backend = "redis" if redis_url else "memory"
    try:
        assert server.stdout is not None
        await server.stdout.readline()
        pin(server.pid, SERVER_CPU)
        rest_url = f"http://127.0.0.1:{http_port}/route"
        async with aiohttp.ClientSession() as http:
            for expected in (False, True):  # the one miss fills the cache; then hits
                async with http.post(rest_url, json=BODY, headers=HEADERS) as response:
                    answer = await response.json()
                assert answer["routing"]["cached"] is expected, answer
        body = json.dumps(BODY).encode()
        rest = await asyncio.to_thread(runs.rest, server.pid, rest_url, body)
        via_grpc = await asyncio.to_thread(runs.grpc, server.pid, grpc_port, BODY)
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)
    return [(backend, "REST", rest), (backend, "gRPC", via_grpc)]


def yardstick_rows(runs: Runs) -> list[Row]:
    rows: list[Row] = []
    for door, label in (("bare", "bare Starlette"), ("rest", "gateway"), ("grpc", "bare grpc.aio")):
        server = start_server(door, "fast")
        pid = server.process.pid
        try:
            if door == "grpc":
                request = json.loads(REQUEST_JSON)
                rows.append(("prebuilt answer", label, runs.grpc(pid, server.port, request)))
            else:
                url = f"http://127.0.0.1:{server.port}/route"
                rows.append(("prebuilt answer", label, runs.rest(pid, url, REQUEST_JSON)))
        finally:
            server.stop()
    return rows


async def main(seconds: float, calls: int, concurrency: int, redis_url: str) -> None:
    loadgen.require_tools()
    sample = await SampleServer("odoo_prod", "production").start()
    runs = Runs(seconds, calls, concurrency)
    try:
        rows = await coordinator_rows(sample.url, None, runs)
        rows += await coordinator_rows(sample.url, redis_url, runs)
    finally:
        await sample.stop()
    rows += await asyncio.to_thread(yardstick_rows, runs)
    print(json.dumps({"seconds": seconds, "grpc_calls": calls, "concurrency": concurrency}))
    print(
        f"| cache | door | p50 ms | p99 ms | req/s at {concurrency} "
        "| p50 ms at 16 | server CPU µs/req |"
    )
    print("|---|---|---|---|---|---|---|")
    for backend, door, profile in rows:
        sequential, loaded = profile.sequential, profile.loaded
        print(
            f"| {backend} | {door} | {sequential.p50_ms:.3f} | {sequential.p99_ms:.3f}"
            f" | {loaded.rps:,.0f} | {loaded.p50_ms:.2f} | {profile.cpu_us_per_request:.0f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per wrk run")
    parser.add_argument("--calls", type=int, default=6000, help="gRPC calls per loaded run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    uvloop.run(main(args.seconds, args.calls, args.concurrency, args.redis_url))
