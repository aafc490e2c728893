"""`/mcp` on the HTTP port: Streamable HTTP, both protocol revisions, behind the API key.

The SDK's session manager serves 2025-11-25 (initialize, `Mcp-Session-Id`,
the GET stream, DELETE) and 2026-07-28 (stateless, chosen by the
`MCP-Protocol-Version` header) and answers malformed messages, wrong
`Accept`, unknown sessions and oversized bodies by the protocol. In front of
it this app checks the body's size (`MAX_REQUEST_BYTES`: 413, by Content-Length
before the key, as on REST), then the key (`X-API-Key` or `Authorization:
Bearer`, exactly one of them: 400 for two; 401 with `WWW-Authenticate`) and
reads what the request tells the core: routing inputs, deadline
(`X-Request-Timeout` or `Grpc-Timeout`, as on REST) and request id. What a
request's `params` hold (depth, string and key lengths) is checked once the
JSON-RPC message is parsed (`McpDoor.check_params`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import INVALID_REQUEST
from starlette.types import Message, Receive, Scope, Send

from coordinator.auth import KeyRing, Principal
from coordinator.calls import CallContext
from coordinator.errors import CoordinatorError, ErrorCode, Refusal
from coordinator.gateway.errors import error_headers
from coordinator.gateway.headers import read_request_headers
from coordinator.mcpdoor.fastpath import FastPath, read_bounded, refuse_over_limits
from coordinator.mcpdoor.inputs import connection_inputs
from coordinator.mcpdoor.server import SCOPE_KEY, Caller, McpDoor
from coordinator.mcpdoor.sessions import OpenSessions
from coordinator.observe import RequestObserver
from coordinator.ratelimit import RateLimiter

KeyCheck = Callable[[Mapping[str, str]], Awaitable[Principal]]
"""Admits one HTTP request by its key metadata: the caller's principal, or a CoordinatorError
(401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 429 RESOURCE_EXHAUSTED). See `admission`."""

WWW_AUTHENTICATE = 'Bearer realm="mcp-coordinator", ApiKey header="X-API-Key"'
MAX_BODY_BYTES = 4 * 1024 * 1024
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
log = logging.getLogger(__name__)


def key_metadata(raw_headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The key of a request as call metadata: `X-API-Key`, or `Authorization: Bearer <key>`.
    INVALID_ARGUMENT when the request carries more than one (two `X-API-Key`, two
    `Authorization`, or one of each): which one wins must not depend on a proxy's order."""
    keys: list[str] = []
    authorizations = 0
    for name, value in raw_headers:
        if name == b"x-api-key":
            keys.append(value.decode("latin-1"))
        elif name == b"authorization":
            authorizations += 1
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                keys.append(token.strip())
    if authorizations > 1:
        raise _bad_header("Authorization", "given more than once")
    if len(keys) > 1:
        raise _bad_header("Authorization", "a Bearer key and X-API-Key: send the key once")
    return {"x-api-key": keys[0]} if keys and keys[0] else {}


def _bad_header(name: str, problem: str) -> CoordinatorError:
    return CoordinatorError(ErrorCode.INVALID_ARGUMENT, f"header {name}: {problem}")


def too_large(limit: int) -> CoordinatorError:
    """Over `MAX_REQUEST_BYTES`, in the words of the REST door (answered with 413)."""
    return CoordinatorError(
        ErrorCode.RESOURCE_EXHAUSTED, f"request body larger than MAX_REQUEST_BYTES={limit} bytes"
    )


def admission(
    keyring: KeyRing,
    limiter: RateLimiter | None = None,
    observer: RequestObserver | None = None,
) -> KeyCheck:
    """The one place the MCP door decides who may call, as the other doors do
    (`coordinator.rpc`): the key, the `mcp` scope, then the key's rate limit. A refusal
    is counted and logged (throttled) as one, and writes no usage row."""

    async def admit(metadata: Mapping[str, str]) -> Principal:
        ctx = CallContext(door="mcp", method="mcp", metadata=metadata)
        try:
            principal = ctx.principal = keyring.authenticate(metadata)
            principal.require("mcp")
            if limiter is not None:
                await limiter.check(principal)
        except Refusal as refused:
            if observer is not None:
                observer.refused(ctx, "mcp", refused.refusal, refused.message)
            raise
        return principal

    return admit


def rebinding_protection(
    host: str, cors_origins: Sequence[str] = ()
) -> TransportSecuritySettings | None:
    """On a loopback address, requests must name a loopback host and origin (or one of
    `cors_origins`, the pages CORS_ORIGINS lets call): a web page cannot reach the door
    through DNS rebinding. On any other address the door is behind a deliberate network
    setup that names its own hosts."""
    if host not in LOOPBACK_HOSTS:
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=[
            "http://127.0.0.1:*",
            "http://localhost:*",
            "http://[::1]:*",
            *cors_origins,
        ],
    )


class McpHttpApp:
    """The ASGI app mounted at `/mcp`; enter `running()` before serving requests."""

    def __init__(
        self,
        door: McpDoor,
        check: KeyCheck,
        *,
        host: str = "127.0.0.1",
        cors_origins: Sequence[str] = (),
        max_body_bytes: int = MAX_BODY_BYTES,
        fast_path: bool = True,
    ) -> None:
        self.door = door
        self._check = check
        self._max_body_bytes = max_body_bytes
        security = rebinding_protection(host, cors_origins)
        self.manager = StreamableHTTPSessionManager(
            app=door.server,
            json_response=False,
            stateless=False,
            security_settings=security,
            max_request_body_size=max_body_bytes,
        )
        self._fast = (
            FastPath(door, loopback_only=security is not None, sessions=OpenSessions(self.manager))
            if fast_path
            else None
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[McpHttpApp]:
        """Runs the session manager for the duration of the block.

        The manager's task group lives in a task of its own: the block may be
        left from another task than it was entered in (an exit stack closed by
        a fixture's teardown), which an anyio cancel scope does not allow.
        """
        started = asyncio.Event()
        stop = asyncio.Event()

        async def run() -> None:
            async with self.manager.run():
                started.set()
                await stop.wait()

        task = asyncio.create_task(run(), name="mcp-session-manager")
        waiting = asyncio.create_task(started.wait())
        await asyncio.wait((task, waiting), return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            waiting.cancel()
            task.result()  # re-raises why the manager did not start
        try:
            yield self
        finally:
            self.door.close()
            stop.set()
            await task

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = scope["headers"]
        if any(value != value.strip() for _, value in raw):
            # Field values exclude surrounding whitespace (RFC 9110 section 5.5); the
            # SDK compares Mcp-Name with the body's name as sent.
            raw = scope["headers"] = [(name, value.strip()) for name, value in raw]
        try:
            parsed = read_request_headers(raw)
            limit = self._max_body_bytes
            if parsed.content_length is not None and parsed.content_length > limit:
                await _refuse(too_large(limit), send, status=413)
                return
            if parsed.content_length is None and scope["method"] == "POST":
                # A body sent in chunks: read (at most the limit) before the key, as REST does.
                read = await read_bounded(receive, limit)
                if read is None:
                    await _refuse(too_large(limit), send, status=413)
                    return
                receive = read[1]
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw}
            metadata = key_metadata(raw)
            principal = await self._check(metadata)
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            inputs = connection_inputs(headers, query)
        except CoordinatorError as error:
            await _refuse(error, send)
            return
        deadline = None if parsed.timeout is None else time.monotonic() + parsed.timeout
        caller = scope[SCOPE_KEY] = Caller(
            inputs, metadata, deadline, parsed.request_id, principal=principal
        )
        answered = False

        async def watched(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            if self._fast is not None:
                unanswered = await self._fast.try_answer(scope, receive, watched, caller)
                if unanswered is None:
                    return
                receive = unanswered
            if scope["method"] == "POST":
                read = await read_bounded(receive, limit)  # within Content-Length or read above
                if read is None:
                    await _refuse(too_large(limit), watched, status=413)
                    return
                body, receive = read
                if await refuse_over_limits(self.door, scope, body, watched):
                    return
            await self.manager.handle_request(scope, receive, watched)
        except Exception:
            # E.g. a request that arrives while the session manager stops.
            log.exception("MCP door: request failed")
            if not answered:
                await _refuse(
                    CoordinatorError(ErrorCode.UNAVAILABLE, "the MCP door cannot serve now"), send
                )


async def _refuse(error: CoordinatorError, send: Send, *, status: int | None = None) -> None:
    """A JSON-RPC error without id, with the HTTP status and headers of the other doors
    (`status` when the HTTP layer decides it, as 413 for a body over the limit)."""
    failure: dict[str, Any] = {"code": INVALID_REQUEST, "message": error.message}
    if error.retry_after is not None:
        failure["data"] = {"retry_after_seconds": error.retry_after}
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": failure}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += error_headers(error, www_authenticate=WWW_AUTHENTICATE)
    await send(
        {"type": "http.response.start", "status": status or error.http_status, "headers": headers}
    )
    await send({"type": "http.response.body", "body": body})
