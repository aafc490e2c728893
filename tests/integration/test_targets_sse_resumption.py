"""A 2025-11-25 server may close a request's event stream before the response and send the
response on another stream: the GET that resumes it, or the session's notification GET. The
target takes it from whichever stream brings it.

The server here is a small aiohttp app that speaks just enough of the protocol to do that on
purpose (no SDK server lets a test choose the stream a response goes on).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from coordinator.config import TargetConfig
from coordinator.targets import HttpTarget

SESSION = "session-1"
SSE = "text/event-stream"


class ResumingServer:
    """Closes every tools/call stream after a priming event; sends the response on the
    notification GET (`on_listener`) or on the resuming GET."""

    def __init__(self, *, on_listener: bool) -> None:
        self.on_listener = on_listener
        self.pending: asyncio.Queue[int] = asyncio.Queue()
        self.resumed_with: list[str] = []

    async def post(self, request: web.Request) -> web.StreamResponse:
        message = await request.json()
        if message.get("method") == "initialize":
            result = {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "resuming", "version": "1"},
            }
            return web.json_response(
                {"jsonrpc": "2.0", "id": message["id"], "result": result},
                headers={"Mcp-Session-Id": SESSION},
            )
        if "id" not in message:
            return web.Response(status=202)
        stream = web.StreamResponse(headers={"Content-Type": SSE})
        await stream.prepare(request)
        await stream.write(b"id: event-1\nretry: 50\ndata: \n\n")
        await self.pending.put(message["id"])
        return stream  # closed before the response: the client must look elsewhere

    async def get(self, request: web.Request) -> web.StreamResponse:
        stream = web.StreamResponse(headers={"Content-Type": SSE})
        await stream.prepare(request)
        resuming = request.headers.get("Last-Event-ID")
        if resuming is not None:
            self.resumed_with.append(resuming)
        if (resuming is not None) != self.on_listener:
            request_id = await self.pending.get()
            answer = {"jsonrpc": "2.0", "id": request_id, "result": {"content": [], "via": "get"}}
            await stream.write(f"id: event-2\ndata: {json.dumps(answer)}\n\n".encode())
        await asyncio.sleep(30)  # an open stream, as a real server keeps it
        return stream


@pytest.fixture
async def serving(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ResumingServer, str]]:
    server = ResumingServer(on_listener=request.param)
    app = web.Application()
    app.router.add_post("/mcp", server.post)
    app.router.add_get("/mcp", server.get)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server, f"http://127.0.0.1:{port}/mcp"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("serving", [True, False], ids=["on-listener", "on-resume"], indirect=True)
async def test_the_response_is_taken_from_whichever_stream_brings_it(
    serving: tuple[ResumingServer, str],
) -> None:
    server, url = serving
    config = TargetConfig(name="resuming", url=url, protocol="2025-11-25")
    async with HttpTarget(config, listen=server.on_listener) as target:
        result: dict[str, Any] = await target.request(
            "tools/call", {"name": "anything", "arguments": {}}, timeout=5
        )
    assert result["via"] == "get"
    if not server.on_listener:
        assert server.resumed_with == ["event-1"]
