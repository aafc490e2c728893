"""Route latency while the primary target fails, against the healthy baseline.

    python bench/bench_faults.py [--calls 300]

One coordinator in this process (gRPC door, per-try timeout 0.25 s) in front of
two sample MCP servers. Scenarios, measured in one run:
- healthy: both targets up, calls answered by the primary, and the same call
  pinned to the secondary (the baseline a failover is compared with);
- refused: the primary is killed; the first five calls fail over after an
  instant connection refusal and open its breaker, later calls skip it;
- frozen: the primary is SIGSTOPped; the first five calls wait out the per-try
  timeout, then fail over and open the breaker; later calls skip it.
Reports p50/p99 and the difference to the secondary's healthy p50.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import grpc
import uvloop

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mcpcoordinator.v1 import coordinator_pb2 as pb  # noqa: E402
from mcpcoordinator.v1 import coordinator_pb2_grpc as pb_grpc  # noqa: E402

from bench.measure import percentile  # noqa: E402
from coordinator.app import Coordinator  # noqa: E402
from coordinator.config import Settings  # noqa: E402
from tests.support.mcp_servers import SampleServer  # noqa: E402

PER_TRY = 0.25


async def timed_calls(
    stub: pb_grpc.CoordinatorServiceAsyncStub, request: pb.RouteRequest, calls: int
) -> list[float]:
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        await stub.Route(request, timeout=10)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def run(fault: str, calls: int) -> dict[str, list[float]]:
    """Healthy baseline, then the primary is killed or frozen (fault), in one coordinator."""
    prod = await SampleServer("odoo_prod", "production").start()
    lab = await SampleServer("odoo_lab", "lab").start()
    settings = Settings(
        port=0,
        grpc_port=0,
        per_try_timeout=PER_TRY,
        probe_interval=3600,
        targets=(prod.target_config(), lab.target_config()),
        default_target="odoo_prod",
        failover_order=("odoo_prod", "odoo_lab"),
    )
    request = pb.RouteRequest(tool="list_skills", no_cache=True)
    pinned = pb.RouteRequest(tool="list_skills", no_cache=True, target="odoo_lab")
    results: dict[str, list[float]] = {}
    try:
        async with (
            Coordinator(settings) as coordinator,
            grpc.aio.insecure_channel(f"127.0.0.1:{coordinator.grpc_port}") as channel,
        ):
            stub = pb_grpc.CoordinatorServiceStub(channel)
            await timed_calls(stub, request, 50)
            await timed_calls(stub, pinned, 50)
            results["healthy: primary answers"] = await timed_calls(stub, request, calls)
            results["healthy: secondary pinned (baseline)"] = await timed_calls(stub, pinned, calls)
            if fault == "frozen":
                prod.freeze()
            else:
                await prod.kill()
            # The first five failures open the breaker.
            results[f"{fault}: breaker closed"] = await timed_calls(stub, request, 5)
            results[f"{fault}: breaker open"] = await timed_calls(stub, request, calls)
            prod.thaw()
    finally:
        await prod.stop()
        await lab.stop()
    return results


async def main(calls: int) -> None:
    print(f"per-try timeout {PER_TRY * 1000:.0f} ms, {calls} calls per scenario\n")
    print("| scenario | calls | p50 ms | p99 ms | p50 - secondary baseline |")
    print("|---|---|---|---|---|")
    for fault in ("refused", "frozen"):
        results = await run(fault, calls)
        baseline = percentile(results["healthy: secondary pinned (baseline)"], 0.5)
        for name, latencies in results.items():
            p50 = percentile(latencies, 0.5)
            print(
                f"| {name} | {len(latencies)} | {p50:.2f} | {percentile(latencies, 0.99):.2f}"
                f" | {p50 - baseline:+.2f} |"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    uvloop.run(main(parser.parse_args().calls))
