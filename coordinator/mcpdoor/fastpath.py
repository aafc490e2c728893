"""The hot path of every host, a plain 2026-07-28 `tools/call`, answered without the
SDK's per-request machinery.

Measured (bench/RESULTS.md, "MCP door"): the SDK's server path costs about
0.5 ms of CPU per request before the coordinator does anything, more than the
whole REST door. A POST that is a well-formed, unremarkable 2026-07-28
`tools/call` is therefore parsed, checked and answered here, by the same
handler (`McpDoor.call_tool`: catalogue, routing, core, observer). Anything
else, and anything this module is not sure about (other methods, progress
wanted, `Mcp-Param-*` headers, encoded header values, extra envelope keys, a
malformed message), goes to the SDK unchanged, which then also produces every
protocol error: this path never rejects a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping
from typing import Any

import orjson
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import ERROR_CODE_HTTP_STATUS
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    INTERNAL_ERROR,
    PROTOCOL_VERSION_META_KEY,
    SERVER_INFO_META_KEY,
)
from starlette.types import Message, Receive, Scope, Send

from coordinator.mcpdoor.server import Caller, Incoming, McpDoor

log = logging.getLogger(__name__)

VERSION = "2026-07-28"
MAX_BODY_BYTES = 64 * 1024
_ENVELOPE_KEYS = frozenset(
    {PROTOCOL_VERSION_META_KEY, CLIENT_INFO_META_KEY, CLIENT_CAPABILITIES_META_KEY}
)
_PARAM_KEYS = frozenset({"name", "arguments", "_meta"})
_MESSAGE_KEYS = frozenset({"jsonrpc", "id", "method", "params"})
_LOOPBACK_HOST = re.compile(rb"(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\Z")
_JSON_HEADERS = [(b"content-type", b"application/json")]


class _Request:
    """The headers the fast path looks at, or why it cannot take the request."""

    __slots__ = ("eligible", "length", "name")

    def __init__(self, scope: Scope, loopback_only: bool) -> None:
        self.eligible = False
        self.length = 0
        self.name = ""
        if scope["method"] != "POST":
            return
        seen: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in seen and name.startswith(b"mcp-"):
                return  # duplicated routing header: the SDK answers it
            if name.startswith(b"mcp-param-") or name == b"mcp-session-id":
                return
            seen[name] = value
        if (
            seen.get(b"mcp-protocol-version") != VERSION.encode()
            or seen.get(b"mcp-method") != b"tools/call"
            or not seen.get(b"mcp-name")
            or seen[b"mcp-name"].startswith(b"=?")
            or not seen.get(b"content-type", b"").startswith(b"application/json")
            or not _accepts_both(seen.get(b"accept", b""))
            or not seen.get(b"content-length", b"").isdigit()
        ):
            return
        if loopback_only and (
            b"origin" in seen or not _LOOPBACK_HOST.match(seen.get(b"host", b""))
        ):
            return
        self.length = int(seen[b"content-length"])
        self.eligible = 0 < self.length <= MAX_BODY_BYTES
        self.name = seen[b"mcp-name"].decode("latin-1")


def _accepts_both(accept: bytes) -> bool:
    types_ = {t.split(b";")[0].strip().lower() for t in accept.split(b",")}
    return b"application/json" in types_ and b"text/event-stream" in types_


def plain_tools_call(body: bytes, name: str) -> dict[str, Any] | None:
    """The message, when it is a well-formed 2026-07-28 `tools/call` of tool `name`
    that asks for nothing the fast path does not do; else None."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict) or not message.keys() <= _MESSAGE_KEYS:
        return None
    request_id = message.get("id")
    params = message.get("params")
    if (
        message.get("jsonrpc") != "2.0"
        or message.get("method") != "tools/call"
        or isinstance(request_id, bool)
        or not isinstance(request_id, int | str)
        or not isinstance(params, dict)
        or not params.keys() <= _PARAM_KEYS
        or params.get("name") != name
        or not isinstance(params.get("arguments", {}), dict)
    ):
        return None
    meta = params.get("_meta")
    if (
        not isinstance(meta, dict)
        or meta.get(PROTOCOL_VERSION_META_KEY) != VERSION
        or not isinstance(meta.get(CLIENT_CAPABILITIES_META_KEY), dict)
        or not isinstance(meta.get(CLIENT_INFO_META_KEY, {}), dict)
        or any(key.startswith("io.modelcontextprotocol/") for key in meta.keys() - _ENVELOPE_KEYS)
        or "progressToken" in meta
    ):
        return None
    return message


class FastPath:
    """Answers eligible requests; `None` from `try_answer` means: give it to the SDK,
    with `receive` replaced by the returned one (the body was already read)."""

    def __init__(self, door: McpDoor, *, loopback_only: bool) -> None:
        self.door = door
        self.loopback_only = loopback_only

    async def try_answer(
        self, scope: Scope, receive: Receive, send: Send, caller: Caller
    ) -> Receive | None:
        request = _Request(scope, self.loopback_only)
        if not request.eligible:
            return receive
        body, replay = await _read_body(receive, request.length)
        message = plain_tools_call(body, request.name) if body is not None else None
        if message is None or _declares_param_headers(self.door, request.name):
            return replay
        await self._answer(message, receive, send, caller)
        return None

    async def _answer(
        self, message: dict[str, Any], receive: Receive, send: Send, caller: Caller
    ) -> None:
        params = message["params"]
        incoming = Incoming(params=params, protocol_version=VERSION, caller=caller)
        call = asyncio.ensure_future(
            self.door.call_tool(incoming, params["name"], params.get("arguments"))
        )
        gone = asyncio.ensure_future(_disconnected(receive))
        await asyncio.wait((call, gone), return_when=asyncio.FIRST_COMPLETED)
        if not call.done():  # the host went away: the upstream call is cancelled
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await call
            return
        gone.cancel()
        status = 200
        try:
            result = call.result()
            result.setdefault("resultType", "complete")
            meta = result.get("_meta")
            result["_meta"] = {
                **(meta if isinstance(meta, dict) else {}),
                SERVER_INFO_META_KEY: self.door.server.server_info_stamp,
            }
            response: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"], "result": result}
        except MCPError as error:
            status = ERROR_CODE_HTTP_STATUS.get(error.error.code, 200)
            dumped = error.error.model_dump(by_alias=True, mode="json", exclude_none=True)
            response = {"jsonrpc": "2.0", "id": message["id"], "error": dumped}
        except Exception:  # a bug here must still be an answer by the protocol, not a 500
            log.exception("MCP door: tools/call failed")
            error_data = {"code": INTERNAL_ERROR, "message": "Internal server error"}
            response = {"jsonrpc": "2.0", "id": message["id"], "error": error_data}
        payload = orjson.dumps(response)
        headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _declares_param_headers(door: McpDoor, name: str) -> bool:
    """Whether the tool's schema asks for `Mcp-Param-*` headers (the SDK checks those)."""
    schema = door.catalogue.input_schema(name)
    if schema is None:
        return True  # not listed yet: let the SDK decide everything
    properties = schema.get("properties")
    return not isinstance(properties, Mapping) or any(
        isinstance(p, Mapping) and "x-mcp-header" in p for p in properties.values()
    )


async def _read_body(receive: Receive, length: int) -> tuple[bytes | None, Receive]:
    """The whole body (None when it is not what Content-Length said), and a `receive`
    that replays what was read before passing on to the original."""
    chunks: list[bytes] = []
    size = 0
    more = True
    disconnect: Message | None = None
    while more and size <= length:
        message = await receive()
        if message["type"] != "http.request":
            disconnect = message
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": more}]
    if disconnect is not None:
        pending.append(disconnect)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    complete = not more and disconnect is None and size == length
    return (body if complete else None), replay


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
