"""The MCP door: the coordinator as one MCP server for VS Code, Claude Desktop and any MCP host.

    door = McpDoor(service, targets, observer=observer)
    app = McpHttpApp(door, admission(keyring))      # Streamable HTTP, mounted at /mcp
    await serve_stdio(door)                        # or over stdin/stdout

See `server` (handlers), `catalogue` (the merged lists), `inputs` (routing
inputs and the decision in `_meta`), `http` and `stdio` (transports).
"""

from __future__ import annotations

from coordinator.mcpdoor.http import McpHttpApp, admission, key_metadata
from coordinator.mcpdoor.server import AGGREGATE_TOOL, Caller, McpDoor

__all__ = ["AGGREGATE_TOOL", "Caller", "McpDoor", "McpHttpApp", "admission", "key_metadata"]
