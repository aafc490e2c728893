"""Serve a sample server: `python -m coordinator.samples --name odoo_prod --environment production`.

Over Streamable HTTP it prints exactly one line to stdout once it accepts
connections, `listening on http://<host>:<port>/mcp`, so a parent that asked
for port 0 can read the real port. `--stdio` serves over stdin/stdout instead.

`--protocol` chooses the protocol generations served over HTTP:
- `both` (default): the SDK's own behaviour, 2026-07-28 requests (a modern
  `MCP-Protocol-Version` header) are served statelessly, anything else through
  the 2025-11-25 initialize handshake with `Mcp-Session-Id`;
- `2025-11-25`: behaves as a server that predates 2026-07-28 (a modern probe
  is handled as an unknown request on the legacy path and rejected);
- `2026-07-28`: behaves as a modern-only server (the initialize handshake is
  answered with -32022 naming the supported versions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import UNSUPPORTED_PROTOCOL_VERSION
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from coordinator.samples.server import build_sample_server

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m coordinator.samples", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--name", default="odoo_prod")
    parser.add_argument("--environment", choices=("production", "lab"), default="production")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="/mcp")
    parser.add_argument("--protocol", choices=("both", "2026-07-28", "2025-11-25"), default="both")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--json-response", dest="json_response", action="store_true", default=True)
    mode.add_argument("--sse", dest="json_response", action="store_false")
    parser.add_argument(
        "--stdio", action="store_true", help="serve over stdin/stdout instead of HTTP"
    )
    parser.add_argument(
        "--session-idle-timeout",
        type=float,
        default=None,
        help="seconds before an idle 2025-11-25 session is dropped",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        help="Host header value to accept (repeatable); without any, a non-loopback --host "
        "accepts every Host",
    )
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


class ProtocolGate:
    """ASGI wrapper that makes the SDK's dual-generation endpoint serve one generation only."""

    def __init__(self, app: ASGIApp, protocol: str, path: str) -> None:
        self.app = app
        self.protocol = protocol
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.protocol == "both"
            or scope["path"].rstrip("/") != self.path.rstrip("/")
        ):
            await self.app(scope, receive, send)
            return
        version = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"mcp-protocol-version"), None
        )
        modern = version is not None and version in MODERN_PROTOCOL_VERSIONS
        if self.protocol == "2025-11-25" and modern:
            # A server that predates 2026-07-28 ignores the header it does not know.
            headers = [(k, v) for k, v in scope["headers"] if k != b"mcp-protocol-version"]
            await self.app({**scope, "headers": headers}, receive, send)
            return
        if self.protocol == "2026-07-28" and not modern:
            await _reject_handshake(scope, receive, send, version)
            return
        await self.app(scope, receive, send)


async def _reject_handshake(
    scope: Scope, receive: Receive, send: Send, version: str | None
) -> None:
    if scope["method"] != "POST":
        await _respond(send, 405, b"", [(b"allow", b"POST")])
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    request_id: Any = None
    requested = version
    try:
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            request_id = decoded.get("id")
            params = decoded.get("params")
            if requested is None and isinstance(params, dict):
                requested = params.get("protocolVersion")
    except ValueError:
        pass
    error = {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {
            "code": UNSUPPORTED_PROTOCOL_VERSION,
            "message": "Unsupported protocol version",
            "data": {"supported": list(MODERN_PROTOCOL_VERSIONS), "requested": requested or ""},
        },
    }
    await _respond(send, 400, json.dumps(error).encode(), [(b"content-type", b"application/json")])


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def build_app(args: argparse.Namespace) -> ASGIApp:
    server = build_sample_server(args.name, args.environment)
    security: TransportSecuritySettings | None = None
    if args.allowed_host:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=list(args.allowed_host),
            allowed_origins=[f"http://{h}" for h in args.allowed_host],
        )
    elif args.host not in LOOPBACK:
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    kwargs: dict[str, Any] = {}
    if args.session_idle_timeout is not None:
        kwargs["session_idle_timeout"] = args.session_idle_timeout
    app = server.streamable_http_app(
        streamable_http_path=args.path,
        json_response=args.json_response,
        transport_security=security,
        host=args.host,
        **kwargs,
    )
    return ProtocolGate(app, args.protocol, args.path)


async def serve_http(args: argparse.Namespace) -> None:
    import uvicorn

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(1024)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(args),
        log_level=args.log_level.lower(),
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            raise SystemExit("sample server failed to start")
        await asyncio.sleep(0.005)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    sys.stdout.write(f"listening on http://{shown}:{port}{args.path}\n")
    sys.stdout.flush()
    await task


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    if args.stdio:
        server = build_sample_server(args.name, args.environment)
        import anyio

        anyio.run(server.run_stdio_async)
        return
    try:
        import uvloop

        uvloop.run(serve_http(args))
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        asyncio.run(serve_http(args))


if __name__ == "__main__":
    main()
