"""What keys and rate limits cost: the check alone, and a REST cache hit with them on and off.

    python bench/bench_security.py [--rounds 3] [--seconds 3] [--checks 200000]

Part 1, in process (uvloop): CPU per call of the local rate limiter (`RateLimiter`
without Redis: what every request pays when REDIS_URL is unset, and while
Redis is down), of finding the key (`KeyRing.authenticate`: one SHA-256 and a
constant-time comparison per configured key) and of the input-limit walk of a
Route request (gRPC), of a Route body (REST) and of a tools/call's params (/mcp);
then the latency of one Redis-backed check (one EVALSHA of the GCRA script) next
to a plain Redis GET on the same client, and for a key with a per-target limit
the one call REST and gRPC make against the two /mcp makes, interleaved.

Part 2, the whole coordinator: `mcp-coordinator serve` pinned to CPU 0, wrk
pinned to CPU 1, a read-only tool call answered from the cache, in four
configurations interleaved round by round: keys and limits off (no key,
loopback) or on (a key and RATE_LIMIT high enough never to refuse), each with
the in-process limiter (no REDIS_URL) and with Redis (cache and limits). Per
row: wrk one connection (p50, p99), then 16 connections (req/s, server CPU
per request); medians over the rounds.
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
import uvloop

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mcpcoordinator.v1 import coordinator_pb2 as pb  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bench import loadgen  # noqa: E402
from bench.measure import percentile, pin  # noqa: E402
from coordinator.auth import ALL_SCOPES, KeyRing, Principal, hash_key  # noqa: E402
from coordinator.config import RateLimitConfig  # noqa: E402
from coordinator.limits import DEFAULT_LIMITS, check_json, check_message  # noqa: E402
from coordinator.ratelimit import LocalGcra, RateLimiter, limits_for  # noqa: E402
from tests.support.mcp_servers import SampleServer, free_port  # noqa: E402

API_KEY = "bench-key-0123456789abcdefghijklmnopq"
BODY: dict[str, object] = {
    "tool": "get_record",
    "arguments": {"model": "hr.expense", "record_id": 1},
}
# What a 2026-07-28 host sends as a tools/call's params (the envelope in `_meta`).
MCP_PARAMS: dict[str, object] = {
    "name": "get_record",
    "arguments": {"model": "hr.expense", "record_id": 1},
    "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    },
}
SERVER_CPU, CLIENT_CPU = 0, 1
NEVER_REFUSED = RateLimitConfig(rate=1e9, burst=1_000_000_000)


def cpu_us_per_call(function: object, calls: int) -> float:
    assert callable(function)
    started = time.process_time()
    for _ in range(calls):
        function()
    return (time.process_time() - started) / calls * 1e6


async def async_cpu_us_per_call(function: object, calls: int) -> float:
    assert callable(function)
    started = time.process_time()
    for _ in range(calls):
        await function()
    return (time.process_time() - started) / calls * 1e6


async def part_one(checks: int, redis_url: str, rounds: int) -> None:
    caller = Principal("bench", ALL_SCOPES, rate_limit=NEVER_REFUSED)
    gcra = LocalGcra()
    limits = limits_for(caller)
    keyring = KeyRing(
        [(hash_key(f"other-key-{n}"), caller) for n in range(4)] + [(hash_key(API_KEY), caller)]
    )
    metadata = {"x-api-key": API_KEY}
    request = pb.RouteRequest(tool="get_record")
    request.arguments.update({"model": "hr.expense", "record_id": 1})

    rows: list[tuple[str, float]] = []
    async with RateLimiter(None) as local:
        rows.append(
            ("LocalGcra.check (the algorithm)", cpu_us_per_call(lambda: gcra.check(limits), checks))
        )
        rows.append(
            (
                "RateLimiter.check, local (no Redis)",
                await async_cpu_us_per_call(lambda: local.check(caller), checks),
            )
        )
    rows.append(
        (
            "KeyRing.authenticate (5 keys)",
            cpu_us_per_call(lambda: keyring.authenticate(metadata), checks),
        )
    )
    rows.append(
        (
            "check_message (Route request, gRPC)",
            cpu_us_per_call(lambda: check_message(request, DEFAULT_LIMITS), checks),
        )
    )
    rows.append(
        (
            "check_json (Route body, REST)",
            cpu_us_per_call(lambda: check_json(BODY, DEFAULT_LIMITS), checks),
        )
    )
    rows.append(
        (
            "check_json (tools/call params, /mcp)",
            cpu_us_per_call(lambda: check_json(MCP_PARAMS, DEFAULT_LIMITS), checks),
        )
    )
    print("| in process | CPU µs per call |")
    print("|---|---|")
    for label, value in rows:
        print(f"| {label} | {value:.2f} |")

    client = Redis.from_url(redis_url)
    await client.set("mcpc:bench:get", b"x")
    # A key with a limit of its own and one on a target: REST and gRPC check both in one
    # script call; /mcp checks the key's limit on admission and the target's once the call
    # names it, two calls.
    per_target = Principal(
        "bench-target",
        ALL_SCOPES,
        rate_limit=NEVER_REFUSED,
        target_rates={"odoo_lab": NEVER_REFUSED},
    )
    async with RateLimiter(redis_url) as shared:

        async def mcp_door_two_calls() -> None:
            await shared.check(per_target)
            await shared.check(per_target, "odoo_lab", key_limit=False)

        operations: dict[str, Callable[[], Awaitable[object]]] = {
            "RateLimiter.check, Redis (EVALSHA)": lambda: shared.check(caller),
            "Redis GET, same machine": lambda: client.get("mcpc:bench:get"),
            "key + target limit, one EVALSHA (REST, gRPC)": lambda: shared.check(
                per_target, "odoo_lab"
            ),
            "key, then target limit, two EVALSHAs (/mcp)": mcp_door_two_calls,
        }
        latencies: dict[str, list[float]] = {label: [] for label in operations}
        cpu = dict.fromkeys(operations, 0.0)
        assert shared.state().backend == "redis"
        for _ in range(rounds * 3):
            for label, operation in operations.items():
                cpu_started = time.process_time()
                for _ in range(1000):
                    started = time.perf_counter()
                    await operation()
                    latencies[label].append((time.perf_counter() - started) * 1000)
                cpu[label] += time.process_time() - cpu_started
        assert shared.state().backend == "redis"
    await client.delete("mcpc:bench:get")
    await client.aclose()
    print()
    print("| one call, sequential | p50 ms | p99 ms | client CPU µs |")
    print("|---|---|---|---|")
    for label, values in latencies.items():
        print(
            f"| {label} | {percentile(values, 0.5):.3f} | {percentile(values, 0.99):.3f}"
            f" | {cpu[label] / len(values) * 1e6:.0f} |"
        )


async def coordinator_row(
    url: str, *, keys: bool, redis_url: str | None, seconds: float
) -> loadgen.DoorProfile:
    grpc_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "ODOO_PROD_MCP_URL": url,
        "GRPC_PORT": str(grpc_port),
        "PORT": str(http_port),
        "LOG_LEVEL": "WARNING",
        "PROBE_INTERVAL": "3600",
    }
    for name in ("REDIS_URL", "COORDINATOR_API_KEY", "RATE_LIMIT", "COORDINATOR_CONFIG"):
        env.pop(name, None)
    headers = {"Content-Type": "application/json"}
    if keys:
        env.update(COORDINATOR_API_KEY=API_KEY, RATE_LIMIT="1000000000/s")
        headers["X-API-Key"] = API_KEY
    if redis_url:
        env["REDIS_URL"] = redis_url
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "coordinator", "serve", env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        await server.stdout.readline()
        pin(server.pid, SERVER_CPU)
        rest_url = f"http://127.0.0.1:{http_port}/route"
        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                async with http.post(rest_url, json=BODY, headers=headers) as response:
                    answer = await response.json()
            assert answer["routing"]["cached"] is True, answer
        return await asyncio.to_thread(
            loadgen.profile_rest,
            rest_url,
            json.dumps(BODY).encode(),
            headers=headers,
            pid=server.pid,
            seconds=seconds,
            concurrency=16,
            cpu=CLIENT_CPU,
        )
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)


async def part_two(rounds: int, seconds: float, redis_url: str) -> None:
    loadgen.require_tools()
    sample = await SampleServer("odoo_prod", "production").start()
    configurations = [
        ("off", "memory", False, None),
        ("on", "memory", True, None),
        ("off", "redis", False, redis_url),
        ("on", "redis", True, redis_url),
    ]
    results: dict[tuple[str, str], list[loadgen.DoorProfile]] = {}
    failed = 0
    try:
        for _ in range(rounds):
            for label, backend, keys, url in configurations:
                try:
                    profile = await coordinator_row(
                        sample.url, keys=keys, redis_url=url, seconds=seconds
                    )
                except RuntimeError as error:  # wrk saw an error or a timeout: say so, go on
                    failed += 1
                    print(f"{label}/{backend}: run failed: {str(error).splitlines()[0]}")
                    continue
                results.setdefault((label, backend), []).append(profile)
    finally:
        await sample.stop()
    print()
    print(f"runs failed and left out: {failed}")
    print("| keys + limits | cache + limits | p50 ms | p99 ms | req/s at 16 | server CPU µs/req |")
    print("|---|---|---|---|---|---|")
    for (label, backend), profiles in results.items():
        p50 = statistics.median(p.sequential.p50_ms for p in profiles)
        p99 = statistics.median(p.sequential.p99_ms for p in profiles)
        rps = statistics.median(p.loaded.rps for p in profiles)
        cpu = statistics.median(p.cpu_us_per_request for p in profiles)
        print(f"| {label} | {backend} | {p50:.3f} | {p99:.3f} | {rps:,.0f} | {cpu:.0f} |")


async def main(rounds: int, seconds: float, checks: int, redis_url: str) -> None:
    print(json.dumps({"rounds": rounds, "seconds": seconds, "checks": checks}))
    await part_one(checks, redis_url, rounds)
    await part_two(rounds, seconds, redis_url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="per wrk run")
    parser.add_argument("--checks", type=int, default=200_000, help="in-process calls per row")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    uvloop.run(main(args.rounds, args.seconds, args.checks, args.redis_url))
