"""An MCP server with resources and no tools, over stdio (the SDK's low-level `Server`).

    python -m tests.support.toolless_server

It declares no tools capability, so `tools/list` is answered with -32601
(method not found), as any server that only offers resources or prompts does.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

README = types.Resource(uri="docs://readme", name="readme", mime_type="text/plain")


async def list_resources(ctx: Any, params: types.PaginatedRequestParams | None) -> Any:
    return types.ListResourcesResult(resources=[README])


def build() -> Server[Any]:
    return Server("docs", version="0.1.0", on_list_resources=list_resources)


async def main() -> None:
    server = build()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
