"""How long a full garbage collection stops a started coordinator, before and after the freeze.

    python bench/bench_gc.py [--rounds 5]

Starts a coordinator in process (one sample MCP server as its target), then
times `gc.collect()` a few times as is, and again after `gc.freeze()`, which
`coordinator.app.serve` calls once start-up is done. A full collection runs
inside whichever request allocated the object that tipped the threshold, so
its duration is a pause that request (and every request queued behind it) sees.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coordinator.app import Coordinator
from coordinator.config import Settings
from tests.support.mcp_servers import SampleServer


def collect_ms(rounds: int) -> list[float]:
    pauses = []
    for _ in range(rounds):
        started = time.perf_counter()
        gc.collect()
        pauses.append((time.perf_counter() - started) * 1000)
    return pauses


async def main(rounds: int) -> None:
    sample = await SampleServer("odoo_prod", "production").start()
    try:
        settings = Settings(
            host="127.0.0.1",
            port=0,
            grpc_port=0,
            targets=(sample.target_config(),),
            default_target="odoo_prod",
            failover_order=("odoo_prod",),
        )
        async with Coordinator(settings):
            await asyncio.sleep(1)  # warm-up tasks finish
            tracked = len(gc.get_objects())
            before = collect_ms(rounds)
            gc.freeze()
            after = collect_ms(rounds)
            frozen = gc.get_freeze_count()
            gc.unfreeze()
    finally:
        await sample.stop()
    print(f"objects tracked after start-up: {tracked:,}; frozen: {frozen:,}")
    print("| heap | full collection p50 ms | max ms |")
    print("|---|---|---|")
    print(f"| as started | {statistics.median(before):.1f} | {max(before):.1f} |")
    print(f"| after gc.freeze() | {statistics.median(after):.2f} | {max(after):.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    uvloop.run(main(parser.parse_args().rounds))
