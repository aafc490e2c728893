"""Load generators that run outside Python: wrk for HTTP, Node.js grpc-js for gRPC.

A Python client spends about as much CPU per call as the Python server it
measures, and its own latency lands in every number; with both on a 2-core
machine it caps throughput and inflates p50. wrk (C, from Debian's `wrk`
package) and `bench/grpc_load.mjs` (@grpc/grpc-js under the Node.js in
`tools/`) keep the client's share small and the same for every row.

Each run is bounded: wrk by its duration, the gRPC client by its call count
and a subprocess timeout.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.measure import cpu_seconds

REPO = Path(__file__).resolve().parents[1]
NODE = REPO / "tools" / "node_modules" / ".bin" / "node"
GRPC_LOAD = REPO / "bench" / "grpc_load.mjs"
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class LoadResult:
    p50_ms: float
    p99_ms: float
    rps: float
    requests: int


def require_tools() -> None:
    """Exits with a clear message when a load generator is missing."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    if not NODE.exists():
        raise SystemExit(f"{NODE} not found: cd tools && npm ci")


def _pinned(argv: list[str], cpu: int | None) -> list[str]:
    if cpu is None or shutil.which("taskset") is None:
        return argv
    return ["taskset", "-c", str(cpu), *argv]


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk(
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    connections: int = 1,
    seconds: float = 5.0,
    cpu: int | None = None,
) -> LoadResult:
    """`connections` keep-alive connections, each one request at a time, for `seconds`.

    POST with `body` when given, else GET. Raises RuntimeError on socket errors
    or any non-2xx answer, so a row never silently measures error pages.
    """
    lines = []
    if body is not None:
        lines += ['wrk.method = "POST"', f"wrk.body = {_lua_string(body.decode())}"]
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write("\n".join(lines) + "\n")
        script.flush()
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", script.name]
        completed = subprocess.run(
            _pinned([*argv, url], cpu),
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        )
    return _parse_wrk(completed.stdout)


def _parse_wrk(output: str) -> LoadResult:
    problems = re.search(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", output)
    if problems:
        raise RuntimeError(f"wrk: {problems.group(1)}\n{output}")
    percentiles = {
        int(m.group(1)): float(m.group(2)) * _UNITS_MS[m.group(3)]
        for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    }
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    if rps is None or requests is None or set(percentiles) != {50, 99}:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return LoadResult(percentiles[50], percentiles[99], float(rps.group(1)), int(requests.group(1)))


def grpc_node(
    target: str,
    request: Mapping[str, object],
    *,
    api_key: str = "",
    calls: int = 3000,
    concurrency: int = 1,
    warmup: int = 300,
    cpu: int | None = None,
    expect_cached: bool | None = None,
) -> LoadResult:
    """`calls` CoordinatorService.Route calls from Node.js, `concurrency` in flight on one channel.

    Raises RuntimeError when any call failed, or when the last answer's
    `routing.cached` is not `expect_cached` (if given).
    """
    argv = [
        str(NODE),
        str(GRPC_LOAD),
        "--target",
        target,
        "--request",
        json.dumps(request),
        "--api-key",
        api_key,
        "--calls",
        str(calls),
        "--concurrency",
        str(concurrency),
        "--warmup",
        str(warmup),
    ]
    completed = subprocess.run(
        _pinned(argv, cpu), capture_output=True, text=True, timeout=300, check=True, cwd=REPO
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    if report["errors"]:
        raise RuntimeError(f"{report['errors']} of {calls} gRPC calls failed")
    if expect_cached is not None and report["cached"] is not expect_cached:
        raise RuntimeError(f"expected routing.cached={expect_cached}, got {report['cached']}")
    return LoadResult(report["p50_ms"], report["p99_ms"], report["calls_per_second"], calls)


@dataclass(frozen=True)
class DoorProfile:
    """One server door under the same client: one call at a time, then loaded."""

    sequential: LoadResult
    loaded: LoadResult
    cpu_us_per_request: float  # the server process's, during the loaded run


def _profile(
    pid: int, sequential: Callable[[], LoadResult], loaded: Callable[[], LoadResult]
) -> DoorProfile:
    loaded()  # warm-up: connections, caches, tool lists
    first = sequential()
    before = cpu_seconds(pid)
    second = loaded()
    return DoorProfile(first, second, (cpu_seconds(pid) - before) / second.requests * 1e6)


def profile_rest(
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    pid: int,
    seconds: float,
    concurrency: int,
    cpu: int | None,
) -> DoorProfile:
    """wrk with one connection, then `concurrency` connections, `seconds` each."""

    def run(connections: int) -> LoadResult:
        return wrk(
            url, body=body, headers=headers, connections=connections, seconds=seconds, cpu=cpu
        )

    return _profile(pid, lambda: run(1), lambda: run(concurrency))


def profile_grpc(
    target: str,
    request: Mapping[str, object],
    *,
    api_key: str,
    pid: int,
    calls: int,
    concurrency: int,
    cpu: int | None,
    expect_cached: bool | None = None,
) -> DoorProfile:
    """`calls // 2` calls one at a time, then `calls` with `concurrency` in flight."""

    def run(count: int, level: int) -> LoadResult:
        return grpc_node(
            target,
            request,
            api_key=api_key,
            calls=count,
            concurrency=level,
            cpu=cpu,
            expect_cached=expect_cached,
        )

    return _profile(pid, lambda: run(calls // 2, 1), lambda: run(calls, concurrency))
