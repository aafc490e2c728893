"""The same read-only MCP tool call: direct, through REST, through /mcp (both revisions)
and through a FastMCP proxy.

    python bench/bench_mcp.py [--rounds 3] [--seconds 4] [--concurrency 16]

Starts one sample MCP server (JSON responses, pinned to CPU 1), one coordinator
(`mcp-coordinator serve`, CACHE_TTL=0 so every call reaches the server), a bare
Python proxy that only forwards bytes (`bench/bare_proxy.py`, the floor of any hop),
a server sending the sample's answer without the SDK (`bench/bare_server.py`, on CPU 1
like the sample server: the SDK's server costs what the direct call takes over it), and
FastMCP proxies over the same server with one reused upstream session each (fastmcp is
installed by this script in a virtual environment of its own, so its pins never touch
ours); the coordinator, the proxies and the client are pinned to CPU 0. wrk drives every path,
interleaved in rounds so machine noise hits all alike:
- direct: the stateless 2026-07-28 `tools/call` to the sample server;
- REST: `POST /route` with `tool` and `no_cache`;
- /mcp 2026-07-28: the direct request, sent to the coordinator with the API key;
- /mcp 2025-11-25: a `tools/call` on a session opened with `initialize` (one call at a
  time only: wrk repeats one request id, which a session does not allow concurrently);
- FastMCP proxy: the direct request, sent to the proxy (JSON answers, its fastest
  setting, the budget's reference); like for like with /mcp 2025-11-25, a `tools/call`
  on a 2025-11-25 session opened on it; and the direct request to a second proxy run
  with fastmcp's default answers.
Prints p50/p99/req/s and the hop's CPU per request (coordinator or proxy) per
path and level, the added p50 of each path over the direct call, the issue's
budget for /mcp (at most REST's added p50 + 0.15 ms, and at most a fifth of what
the FastMCP proxy adds), the floor, and whether `tools/list` over /mcp reached a target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvloop

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import loadgen  # noqa: E402
from bench.measure import cpu_seconds, pin  # noqa: E402
from tests.support.mcp_servers import SampleServer, free_port  # noqa: E402

API_KEY = "bench-key"
FASTMCP = "fastmcp==4.1.6"
FASTMCP_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / (
    "mcp-coordinator-bench/" + FASTMCP.replace("==", "-")
)
TOOL = "count_calls"  # read-only: cacheable, hence CACHE_TTL=0 on the coordinator
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
MODERN_BODY = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": TOOL, "arguments": {}, "_meta": ENVELOPE},
    }
).encode()
MODERN_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": "tools/call",
    "Mcp-Name": TOOL,
}
LEGACY_BODY = json.dumps(
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": TOOL, "arguments": {}}}
).encode()


@dataclass(frozen=True)
class Measured:
    load: loadgen.LoadResult
    hop_cpu_us: float  # CPU of the hop (coordinator or proxy) per request


Run = Callable[[int], Measured]
LEGACY = "/mcp 2025-11-25"
FASTMCP_PROXY = "FastMCP proxy"
FASTMCP_LEGACY = "FastMCP proxy 2025-11-25"
FASTMCP_SHIPPED = "FastMCP proxy, its default answers"
SESSION_PATHS = (LEGACY, FASTMCP_LEGACY)
BARE_PROXY = "bare proxy (yardstick)"
BARE_SERVER = "bare server, constant answer (yardstick)"
JSONRPC_ERROR = re.compile(r'"error"\s*:\s*\{')


def fastmcp_python() -> Path:
    """The interpreter of fastmcp's own virtual environment, made on first use."""
    python = FASTMCP_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(FASTMCP_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", FASTMCP], check=True)
    return python


async def legacy_session(url: str) -> str:
    """Opens a 2025-11-25 session on /mcp and returns its Mcp-Session-Id."""
    headers = {"X-API-Key": API_KEY, "Accept": "application/json, text/event-stream"}
    initialize = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        },
    }
    async with httpx.AsyncClient(timeout=10) as http:
        opened = await http.post(url, json=initialize, headers=headers)
        opened.raise_for_status()
        session = opened.headers["mcp-session-id"]
        headers |= {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        (await http.post(url, json=done, headers=headers)).raise_for_status()
    return session


async def check(url: str, body: bytes, headers: dict[str, str]) -> None:
    """One call, so no row measures error answers (a JSON-RPC error is also a 200)."""
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(url, content=body, headers=headers)
    text = answer.text
    if answer.status_code != 200 or JSONRPC_ERROR.search(text) or "odoo_prod" not in text:
        raise SystemExit(f"{url} answered {answer.status_code}: {text[:300]}")


async def upstream_requests(http_url: str) -> int:
    async with httpx.AsyncClient(timeout=10) as http:
        status = await http.get(f"{http_url}/status", headers={"X-API-Key": API_KEY})
    return int(status.json()["targets"]["odoo_prod"]["requests"])


async def main(rounds: int, seconds: float, concurrency: int) -> None:
    python = await asyncio.to_thread(fastmcp_python)
    server = await SampleServer("odoo_prod", "production", json_response=True).start()
    pin(server.pid, 1)
    grpc_port, http_port = free_port(), free_port()
    proxy_port, shipped_port = free_port(), free_port()
    env = {
        **os.environ,
        "ODOO_PROD_MCP_URL": server.url,
        "COORDINATOR_API_KEY": API_KEY,
        "GRPC_PORT": str(grpc_port),
        "PORT": str(http_port),
        "CACHE_TTL": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    coordinator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "coordinator", "serve", env=env, stdout=asyncio.subprocess.PIPE
    )
    # The yardsticks, the floors under the budgets: a Python process that only forwards bytes,
    # and a server on the sample server's stack answering the sample's answer without the SDK.
    async with httpx.AsyncClient(timeout=10) as http:
        constant = (await http.post(server.url, content=MODERN_BODY, headers=MODERN_HEADERS)).text
    constant_server = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "bench" / "bare_server.py"),
        constant,
        str(free_port()),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    bare = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "bench" / "bare_proxy.py"),
        server.url,
        stdout=asyncio.subprocess.PIPE,
    )

    async def fastmcp_proxy(port: int, answers: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            str(python),
            str(REPO / "bench" / "fastmcp_proxy.py"),
            server.url,
            str(port),
            answers,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )

    proxy = await fastmcp_proxy(proxy_port, "json")
    shipped = await fastmcp_proxy(shipped_port, "defaults")
    try:
        assert coordinator.stdout is not None
        assert proxy.stdout is not None
        await coordinator.stdout.readline()
        proxy_url = (await asyncio.wait_for(proxy.stdout.readline(), 60)).decode().split()[-1]
        assert shipped.stdout is not None
        shipped_url = (await asyncio.wait_for(shipped.stdout.readline(), 60)).decode().split()[-1]
        assert bare.stdout is not None
        bare_url = (await asyncio.wait_for(bare.stdout.readline(), 60)).decode().split()[-1]
        assert constant_server.stdout is not None
        line = await asyncio.wait_for(constant_server.stdout.readline(), 60)
        constant_url = line.decode().split()[-1]
        pin(constant_server.pid, 1)
        pin(coordinator.pid, 0)
        pin(proxy.pid, 0)
        pin(shipped.pid, 0)
        pin(bare.pid, 0)
        base = f"http://127.0.0.1:{http_port}"
        mcp_url = f"{base}/mcp"
        keyed = {**MODERN_HEADERS, "X-API-Key": API_KEY}
        session = await legacy_session(mcp_url)
        legacy_headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
            "Mcp-Session-Id": session,
            "X-API-Key": API_KEY,
        }
        proxy_headers = {**legacy_headers, "Mcp-Session-Id": await legacy_session(proxy_url)}
        del proxy_headers["X-API-Key"]
        rest_body = json.dumps({"tool": TOOL, "no_cache": True}).encode()
        rest_headers = {"Content-Type": "application/json", "X-API-Key": API_KEY}
        requests = {
            "direct": (server.url, MODERN_BODY, MODERN_HEADERS),
            "REST /route": (f"{base}/route", rest_body, rest_headers),
            "/mcp 2026-07-28": (mcp_url, MODERN_BODY, keyed),
            LEGACY: (mcp_url, LEGACY_BODY, legacy_headers),
            FASTMCP_PROXY: (proxy_url, MODERN_BODY, MODERN_HEADERS),
            FASTMCP_LEGACY: (proxy_url, LEGACY_BODY, proxy_headers),
            FASTMCP_SHIPPED: (shipped_url, MODERN_BODY, MODERN_HEADERS),
            BARE_PROXY: (bare_url, MODERN_BODY, MODERN_HEADERS),
            BARE_SERVER: (constant_url, MODERN_BODY, MODERN_HEADERS),
        }
        for url, body, headers in requests.values():
            await check(url, body, headers)

        def run_of(url: str, body: bytes, headers: dict[str, str], hop: int | None) -> Run:
            def run(level: int) -> Measured:
                before = cpu_seconds(hop) if hop is not None else 0.0
                result = loadgen.wrk(
                    url, body=body, headers=headers, connections=level, seconds=seconds, cpu=0
                )
                used = cpu_seconds(hop) - before if hop is not None else float("nan")
                return Measured(result, used / result.requests * 1e6)

            return run

        # The process whose CPU is the hop's: the coordinator, or the FastMCP proxy.
        hops = {
            "direct": None,
            FASTMCP_PROXY: proxy.pid,
            FASTMCP_LEGACY: proxy.pid,
            FASTMCP_SHIPPED: shipped.pid,
            BARE_PROXY: bare.pid,
            BARE_SERVER: None,
        }
        runs = {
            name: run_of(*request, hops.get(name, coordinator.pid))
            for name, request in requests.items()
        }
        for run in runs.values():  # warm-up: sessions, connections, tool lists
            await asyncio.to_thread(run, 1)
        results: dict[tuple[str, int], list[Measured]] = {}
        for _ in range(rounds):
            for level in (1, concurrency):
                for name, run in runs.items():
                    if level > 1 and name in SESSION_PATHS:
                        continue  # wrk would send one request id many times on one session
                    result = await asyncio.to_thread(run, level)
                    results.setdefault((name, level), []).append(result)

        before = await upstream_requests(base)
        list_body = json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": ENVELOPE}}
        ).encode()
        list_headers = {**keyed, "Mcp-Method": "tools/list"}
        del list_headers["Mcp-Name"]
        listing = await asyncio.to_thread(
            lambda: loadgen.wrk(
                mcp_url, body=list_body, headers=list_headers, seconds=seconds, cpu=0
            )
        )
        after = await upstream_requests(base)
    finally:
        for process in (coordinator, proxy, shipped, bare, constant_server):
            process.terminate()
            await asyncio.wait_for(process.wait(), 15)
        await server.stop()
    report(results, list(runs), concurrency, rounds, seconds)
    print(
        f"\ntools/list over /mcp 2026-07-28, concurrency 1: p50 {listing.p50_ms:.3f} ms,"
        f" {listing.rps:,.0f} req/s; {listing.requests:,} lists, {after - before}"
        " requests reached the target"
    )


def report(
    results: dict[tuple[str, int], list[Measured]],
    names: list[str],
    concurrency: int,
    rounds: int,
    seconds: float,
) -> None:
    """Medians over the rounds of each run's p50, p99 and req/s, and the budget."""
    print(f"wrk, {rounds} interleaved rounds, {seconds:g} s per run\n")
    print("| path | concurrency | p50 ms | p99 ms | req/s | hop CPU µs/req |")
    print("|---|---|---|---|---|---|")
    p50: dict[tuple[str, int], float] = {}
    for level in (1, concurrency):
        for name in names:
            runs = results.get((name, level))
            if not runs:
                continue
            p50[(name, level)] = statistics.median(run.load.p50_ms for run in runs)
            p99 = statistics.median(run.load.p99_ms for run in runs)
            rps = statistics.median(run.load.rps for run in runs)
            cpu = statistics.median(run.hop_cpu_us for run in runs)
            shown = "-" if math.isnan(cpu) else f"{cpu:.0f}"
            print(
                f"| {name} | {level} | {p50[(name, level)]:.3f} | {p99:.3f} | {rps:,.0f}"
                f" | {shown} |"
            )
    print()
    added = {name: p50[(name, 1)] - p50[("direct", 1)] for name in names[1:]}
    for name, value in added.items():
        print(f"added p50 at concurrency 1, {name}: {value:+.3f} ms")
    # The budget: REST's added p50 + 0.15 ms, and a fifth of what the FastMCP proxy
    # adds to the 2026-07-28 call; and, like for like, a fifth of what it adds to the same
    # revision's call.
    for name, peer in (("/mcp 2026-07-28", FASTMCP_PROXY), (LEGACY, FASTMCP_LEGACY)):
        rest_budget = added["REST /route"] + 0.15
        peer_budget = added[FASTMCP_PROXY] / 5
        same_revision = added[peer] / 5
        print(
            f"budget {name}: {added[name]:.3f} ms"
            f" <= REST + 0.15 = {rest_budget:.3f} ({_verdict(added[name], rest_budget)}),"
            f" <= FastMCP/5 = {peer_budget:.3f} ({_verdict(added[name], peer_budget)}),"
            f" <= {peer}/5 = {same_revision:.3f} ({_verdict(added[name], same_revision)})"
        )
    # The floors: any Python hop costs at least what the bare proxy adds; one built on the MCP
    # SDK's server also costs what that server costs over a bare one (the direct call is the
    # SDK's server answering a trivial tool; the bare server sends the same answer without it).
    sdk_cost = -added[BARE_SERVER]
    print(f"floor of a Python hop: {added[BARE_PROXY]:+.3f} ms")
    print(f"the SDK's server over a bare server: {sdk_cost:+.3f} ms")
    print(f"floor of a hop built on the SDK's server: {added[BARE_PROXY] + sdk_cost:+.3f} ms")


def _verdict(value: float, bound: float) -> str:
    return "met" if value <= bound else "NOT met"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per wrk run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    loadgen.require_tools()
    uvloop.run(main(args.rounds, args.seconds, args.concurrency))
