"""An HTTP layer in front of a real MCP server that can fail on command, the way a
load balancer or ingress does: pass through, answer 503, or flap between the two."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from aiohttp import ClientSession, web

Mode = Literal["pass", "503", "flap"]
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode: Mode = "pass"
        self.url = ""
        self.requests = 0
        self._flap = False

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.mode == "flap":
            self._flap = not self._flap
        if self.mode == "503" or (self.mode == "flap" and self._flap):
            return web.Response(status=503, text="upstream unavailable (fault proxy)")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        async with self._client.request(
            request.method, self.upstream, headers=headers, data=body
        ) as upstream:
            payload = await upstream.read()
            reply = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(status=upstream.status, body=payload, headers=reply)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FaultProxy]:
        app = web.Application()
        app.router.add_route("*", "/mcp", self._handle)
        # Streams held open by the coordinator (e.g. a notification GET) must not
        # hold up the proxy's shutdown.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/mcp"
        async with ClientSession() as self._client:
            try:
                yield self
            finally:
                await runner.cleanup()
