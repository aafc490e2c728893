"""The yardstick for bench_route.py: the least a Python proxy process can do.

    python bench/bare_proxy.py UPSTREAM_URL

An aiohttp server that forwards each POST to UPSTREAM_URL with a pooled aiohttp
client and returns the answer unchanged (no routing, no parsing). Prints
`listening on URL` once it accepts connections.
"""

from __future__ import annotations

import asyncio
import sys

import uvloop
from aiohttp import ClientSession, web

HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


async def main(upstream: str) -> None:
    async with ClientSession() as client:

        async def forward(request: web.Request) -> web.Response:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
            async with client.post(upstream, data=await request.read(), headers=headers) as reply:
                body = await reply.read()
                answer = {k: v for k, v in reply.headers.items() if k.lower() not in HOP_HEADERS}
                return web.Response(status=reply.status, body=body, headers=answer)

        app = web.Application()
        app.router.add_post("/mcp", forward)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}/mcp", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1]))
