"""`mcp-coordinator stdio`: the MCP door over stdin/stdout, for hosts that launch a command.

The same configuration as `serve`, no port opened. Routing inputs come from
`COORDINATOR_CONTEXT` and `COORDINATOR_TARGET`; no API key is asked for (the
host runs the process as its user, with the configuration in hand). Logs go
to stderr: stdout carries only MCP messages.
"""

from __future__ import annotations

import os

from mcp.server.stdio import stdio_server

from coordinator.app import Coordinator
from coordinator.config import Settings
from coordinator.mcpdoor.inputs import environment_inputs
from coordinator.mcpdoor.server import Caller
from coordinator.tracing import TracingConfig


async def serve_stdio(settings: Settings, tracing: TracingConfig | None = None) -> None:
    """Serves one host on stdin/stdout until it closes stdin."""
    caller = Caller(environment_inputs(os.environ), transport="pipe")
    async with Coordinator(settings, network=False, tracing=tracing) as coordinator:
        door = coordinator.mcp
        assert door is not None
        door.default_caller = caller
        async with stdio_server() as (read_stream, write_stream):
            await door.server.run(
                read_stream, write_stream, door.server.create_initialization_options()
            )
