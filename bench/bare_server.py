"""A yardstick for bench_mcp.py: an HTTP server that answers every request with the same
bytes, on the sample server's stack (uvicorn, httptools, uvloop) without the MCP SDK.

    python bench/bare_server.py ANSWER PORT

ANSWER is the body to send (JSON). Prints `listening on URL` once it accepts connections.
What the sample server (the MCP SDK's server answering a trivial tool) costs over this is
what the SDK's server path costs per request.
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn
import uvloop
from starlette.types import ASGIApp, Receive, Scope, Send


def answering(body: bytes) -> ASGIApp:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:  # the request body, read and dropped
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def main(body: bytes, port: int) -> None:
    config = uvicorn.Config(
        answering(body), host="127.0.0.1", port=port, lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise SystemExit("bare server failed to start")
        await asyncio.sleep(0.005)
    print(f"listening on http://127.0.0.1:{port}/mcp", flush=True)
    await task


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1].encode(), int(sys.argv[2])))
