"""CPU per call of the MCP door's merged tool list when every target's list is known.

    python bench/bench_catalogue.py [--calls 20000] [--rounds 7]

Every `/mcp` tools/call and tools/list asks `Catalogue.tools()`; when no target's list
needs fetching it must answer from what it holds. Two scripted in-process targets
(tests/support/scripted_target.py), the thread's CPU time per call, the best of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coordinator.mcpdoor.catalogue import Catalogue
from tests.support.scripted_target import ScriptedTarget


async def main(calls: int, rounds: int) -> None:
    targets = {name: ScriptedTarget(name) for name in ("odoo_prod", "odoo_lab")}
    for target in targets.values():
        await target.__aenter__()
        await target.list_tools()
    catalogue = Catalogue(targets, list_timeout=2.0)
    await catalogue.tools()
    per_call = []
    for _ in range(rounds):
        started = time.thread_time_ns()
        for _ in range(calls):
            await catalogue.tools()
        per_call.append((time.thread_time_ns() - started) / calls / 1000)
    print(f"Catalogue.tools(), every list known: {min(per_call):.2f} µs CPU per call")
    for target in targets.values():
        await target.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds))
