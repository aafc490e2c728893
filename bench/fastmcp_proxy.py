"""A FastMCP proxy over one MCP server, with one reused upstream session (a peer to measure).

    <fastmcp venv>/bin/python bench/fastmcp_proxy.py UPSTREAM_URL PORT [json|defaults]

Runs under the interpreter of the virtual environment `bench/bench_mcp.py` makes
for fastmcp (its pins never touch ours); prints "listening on URL" once serving.
"""

import asyncio
import sys

from fastmcp import Client  # type: ignore[import-not-found]  # its own venv
from fastmcp.server import create_proxy  # type: ignore[import-not-found]


async def main(upstream: str, port: int, answers: str) -> None:
    async with Client(upstream) as client:  # connected: the proxy reuses this session
        proxy = create_proxy(client, name="fastmcp-proxy")
        serving = asyncio.create_task(
            proxy.run_http_async(
                show_banner=False,
                host="127.0.0.1",
                port=port,
                log_level="WARNING",
                # "json": JSON answers, its fastest setting; "defaults": as fastmcp ships.
                json_response=True if answers == "json" else None,
            )
        )
        await asyncio.sleep(1.0)
        print(f"listening on http://127.0.0.1:{port}/mcp", flush=True)
        await serving


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "json"))
