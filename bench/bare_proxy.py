"""The yardstick for bench_route.py: the least a Python proxy process can do.

    python bench/bare_proxy.py UPSTREAM_URL

Runs the tests' pass-through HTTP layer (`tests/integration/fault_proxy.py`,
an aiohttp server forwarding each request with a pooled aiohttp client, no
routing, no parsing) as a process of its own. Prints `listening on URL` once it
accepts connections.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.fault_proxy import FaultProxy


async def main(upstream: str) -> None:
    async with FaultProxy(upstream).running() as proxy:
        print(f"listening on {proxy.url}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1]))
