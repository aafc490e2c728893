"""Where an /mcp tool call's CPU goes, layer by layer, in one process.

    python bench/bench_mcp_layers.py [--calls 2000] [--rounds 3]

One sample MCP server (JSON answers) in a process of its own; in this process a
coordinator without network doors (CACHE_TTL=0, so every call reaches the server),
and the same read-only `tools/call` made, interleaved in rounds, through each layer:
- aiohttp: a bare pooled aiohttp POST and `json.loads` of the answer, the least any
  Python hop does per call;
- target: `HttpTarget.request`, the coordinator's MCP client over that aiohttp;
- core: `CoordinatorService.route`, the policy, breaker, coalescing and answer checks;
- door: `McpDoor.call_tool`, the MCP door's handler: catalogue, routing inputs, usage
  row, metrics and the decision log line.
Prints this thread's CPU per call of each layer (median of the rounds) and what each adds
over the one below. What the HTTP door adds on top (uvicorn, the key, the fast path's
parsing and answer) is the rest of bench_mcp.py's hop CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_mcp import MODERN_BODY, MODERN_HEADERS, TOOL
from coordinator.app import Coordinator
from coordinator.calls import CallContext
from coordinator.config import Settings
from coordinator.mcpdoor.server import Caller, Incoming
from coordinator.operations import Operation
from coordinator.service import RouteCall
from tests.support.mcp_servers import SampleServer

Call = Callable[[], Awaitable[object]]


async def main(calls: int, rounds: int) -> None:
    server = await SampleServer("odoo_prod", "production", json_response=True).start()
    target_config = server.target_config()
    settings = Settings(
        targets=(target_config,),
        default_target=target_config.name,
        failover_order=(target_config.name,),
        cache_ttl=0,
        allow_unauthenticated=True,
    )
    try:
        async with (
            aiohttp.ClientSession() as http,
            Coordinator(settings, network=False) as coordinator,
        ):
            target = coordinator.targets[target_config.name]
            service, door = coordinator.service, coordinator.mcp
            assert service is not None
            assert door is not None
            incoming = Incoming(
                params={"name": TOOL, "arguments": {}},
                protocol_version="2026-07-28",
                caller=Caller(),
            )

            async def bare() -> object:
                async with http.post(server.url, data=MODERN_BODY, headers=MODERN_HEADERS) as r:
                    return json.loads(await r.read())

            async def through_target() -> object:
                return await target.request("tools/call", {"name": TOOL, "arguments": {}})

            async def through_core() -> object:
                ctx = CallContext(door="mcp", method="tools/call")
                return await service.route(RouteCall(Operation.parse(tool=TOOL)), ctx)

            async def through_door() -> object:
                return await door.call_tool(incoming, TOOL, {})

            layers: dict[str, Call] = {
                "aiohttp": bare,
                "target": through_target,
                "core": through_core,
                "door": through_door,
            }
            for call in layers.values():  # warm-up: connections, tool lists
                for _ in range(200):
                    await call()
            cpu: dict[str, list[float]] = {name: [] for name in layers}
            for _ in range(rounds):
                for name, call in layers.items():
                    started = time.thread_time_ns()
                    for _ in range(calls):
                        await call()
                    cpu[name].append((time.thread_time_ns() - started) / calls / 1000)
    finally:
        await server.stop()
    print(f"{calls} calls per layer and round, {rounds} rounds, median CPU per call\n")
    print("| layer | µs CPU per call | adds over the layer below |")
    print("|---|---|---|")
    below = None
    for name, values in cpu.items():
        median = statistics.median(values)
        added = "-" if below is None else f"{median - below:+.0f}"
        print(f"| {name} | {median:.0f} | {added} |")
        below = median


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    uvloop.run(main(args.calls, args.rounds))
