"""The hot path of every host, a plain `tools/call`, answered without the SDK's
per-request machinery.

Measured (bench/RESULTS.md, "MCP door"): the SDK's server path costs about
0.5 ms of CPU per request before the coordinator does anything, more than the
whole REST door, and its session transport about as much again. Two kinds of
POST are therefore parsed, checked and answered here, by the same handler
(`McpDoor.call_tool`: catalogue, routing, core, observer):

- a well-formed, unremarkable 2026-07-28 `tools/call`;
- a plain `tools/call` on an open 2025-11-25 session (`Mcp-Session-Id`), answered
  as JSON, which that revision allows for any request. Such a call has no progress
  token, so nothing but its answer would travel on an event stream. A
  `notifications/cancelled` for a call in flight here is taken here too.

Anything else, and anything this module is not sure about (other methods,
progress wanted, `Mcp-Param-*` headers, encoded header values, extra envelope
keys, a session the SDK does not hold open, a malformed message), goes to the
SDK unchanged, which then also produces every protocol error: this path never
rejects a request.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Mapping
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
from mcp_types.methods import serialize_server_result
from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from coordinator.mcpdoor.server import Caller, Incoming, McpDoor
from coordinator.mcpdoor.sessions import OpenSessions

log = logging.getLogger(__name__)

VERSION = "2026-07-28"
SESSION_VERSION = "2025-11-25"  # the handshake revision whose session calls are taken
MAX_BODY_BYTES = 64 * 1024
WATCH_AFTER = 0.02  # seconds into a 2026-07-28 call before a host's leaving is watched for
REQUEST_CANCELLED = -32800  # how a 2025-11-25 session ends a cancelled request's POST
_ENVELOPE_KEYS = frozenset(
    {PROTOCOL_VERSION_META_KEY, CLIENT_INFO_META_KEY, CLIENT_CAPABILITIES_META_KEY}
)
_PARAM_KEYS = frozenset({"name", "arguments", "_meta"})
_MESSAGE_KEYS = frozenset({"jsonrpc", "id", "method", "params"})
_COORDINATOR_META = "mcp-coordinator/"
_LOOPBACK_HOST = re.compile(rb"(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\Z")
_JSON_HEADERS = [(b"content-type", b"application/json")]

RequestId = int | str


class _Request:
    """The headers the fast path looks at, or why it cannot take the request."""

    __slots__ = ("eligible", "length", "name", "session_id")

    def __init__(self, scope: Scope, loopback_only: bool) -> None:
        self.eligible = False
        self.length = 0
        self.name = ""
        self.session_id: str | None = None
        if scope["method"] != "POST":
            return
        seen: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in seen and name.startswith(b"mcp-"):
                return  # duplicated routing header: the SDK answers it
            if name.startswith(b"mcp-param-"):
                return
            seen[name] = value
        session = seen.get(b"mcp-session-id")
        version = seen.get(b"mcp-protocol-version")
        if session is not None:
            if version != SESSION_VERSION.encode() or not session:
                return
            self.session_id = session.decode("latin-1")
        elif (
            version != VERSION.encode()
            or seen.get(b"mcp-method") != b"tools/call"
            or not seen.get(b"mcp-name")
            or seen[b"mcp-name"].startswith(b"=?")
        ):
            return
        else:
            self.name = seen[b"mcp-name"].decode("latin-1")
        if (
            not seen.get(b"content-type", b"").startswith(b"application/json")
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


def _accepts_both(accept: bytes) -> bool:
    types_ = {t.split(b";")[0].strip().lower() for t in accept.split(b",")}
    return b"application/json" in types_ and b"text/event-stream" in types_


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None


def _plain_call(message: dict[str, Any]) -> dict[str, Any] | None:
    """The call's `_meta` when `message` is a well-formed `tools/call` with nothing
    but a name, arguments and `_meta`; else None."""
    if not message.keys() <= _MESSAGE_KEYS:
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
        or not isinstance(params.get("name"), str)
        or not isinstance(params.get("arguments", {}), dict)
    ):
        return None
    meta = params.get("_meta", {})
    if not isinstance(meta, dict) or "progressToken" in meta:
        return None  # progress needs the SDK's stream
    return meta


def plain_tools_call(body: bytes, name: str) -> dict[str, Any] | None:
    """The message, when it is a well-formed 2026-07-28 `tools/call` of tool `name`
    that asks for nothing the fast path does not do; else None."""
    message = _json_object(body)
    meta = _plain_call(message) if message is not None else None
    if (
        message is None
        or meta is None
        or message["params"]["name"] != name
        or meta.get(PROTOCOL_VERSION_META_KEY) != VERSION
        or not isinstance(meta.get(CLIENT_CAPABILITIES_META_KEY), dict)
        or not isinstance(meta.get(CLIENT_INFO_META_KEY, {}), dict)
        or any(key.startswith("io.modelcontextprotocol/") for key in meta.keys() - _ENVELOPE_KEYS)
    ):
        return None
    return message


def plain_session_call(message: dict[str, Any]) -> bool:
    """Whether `message` is a `tools/call` on a 2025-11-25 session that asks for
    nothing the fast path does not do: its `_meta` holds only the coordinator's keys."""
    meta = _plain_call(message)
    return meta is not None and all(key.startswith(_COORDINATOR_META) for key in meta)


def cancelled_request(message: dict[str, Any]) -> RequestId | None:
    """The request id a `notifications/cancelled` names; None for any other message."""
    params = message.get("params")
    if message.get("method") != "notifications/cancelled" or not isinstance(params, dict):
        return None
    request_id = params.get("requestId")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    return request_id


class FastPath:
    """Answers eligible requests; `None` from `try_answer` means: give it to the SDK,
    with `receive` replaced by the returned one (the body was already read)."""

    def __init__(self, door: McpDoor, *, loopback_only: bool, sessions: OpenSessions) -> None:
        self.door = door
        self.loopback_only = loopback_only
        self.sessions = sessions
        # Session calls in flight here, for the cancellations that name them.
        self._session_calls: dict[tuple[str, RequestId], asyncio.Future[Outcome]] = {}
        self._stamp: dict[str, Any] | None = None

    async def try_answer(
        self, scope: Scope, receive: Receive, send: Send, caller: Caller
    ) -> Receive | None:
        request = _Request(scope, self.loopback_only)
        if not request.eligible:
            return receive
        if request.session_id is not None:
            return await self._try_session(
                request.session_id, request.length, receive, send, caller
            )
        body, replay = await _read_body(receive, request.length)
        message = plain_tools_call(body, request.name) if body is not None else None
        if message is None or _declares_param_headers(self.door, request.name):
            return replay
        await self._answer(message, receive, send, caller)
        return None

    async def _answer(
        self, message: dict[str, Any], receive: Receive, send: Send, caller: Caller
    ) -> None:
        """Runs the call in this task; a host that goes away cancels it (on this revision,
        closing the connection is how a host cancels a request). The watch for that starts
        once the call has taken `WATCH_AFTER` seconds: most calls end sooner, and a task
        per call to watch them cost more than anything else this path does."""
        params = message["params"]
        incoming = Incoming(
            params=params, protocol_version=VERSION, caller=caller, request_id=message["id"]
        )
        this = asyncio.current_task()
        assert this is not None
        watch: list[asyncio.Future[None]] = []
        timer = asyncio.get_running_loop().call_later(
            WATCH_AFTER,
            lambda: watch.append(asyncio.ensure_future(_cancel_when_gone(receive, this))),
        )
        try:
            outcome = await _settled(
                self.door.call_tool(incoming, params["name"], params.get("arguments"))
            )
        except asyncio.CancelledError:
            gone = watch and watch[0].done() and not watch[0].cancelled()
            if gone and this.uncancel() == 0:
                return  # the host went away; the upstream call was cancelled with it
            raise
        finally:
            timer.cancel()
            for watcher in watch:
                watcher.cancel()
        response, code = _response(message["id"], outcome)
        if "result" in response:
            result = response["result"]
            result.setdefault("resultType", "complete")
            meta = result.get("_meta")
            result["_meta"] = {**(meta if isinstance(meta, dict) else {}), **self._server_info()}
        status = 200 if code is None else ERROR_CODE_HTTP_STATUS.get(code, 200)
        await _send_json(send, status, orjson.dumps(response), [])

    async def _try_session(
        self, session_id: str, length: int, receive: Receive, send: Send, caller: Caller
    ) -> Receive | None:
        transport = self.sessions.find(session_id)
        if transport is None:
            return receive
        body, replay = await _read_body(receive, length)
        message = _json_object(body) if body is not None else None
        if message is None:
            return replay
        cancelled = cancelled_request(message)
        if cancelled is not None:
            call = self._session_calls.get((session_id, cancelled))
            if call is None:
                return replay  # not ours: the SDK's session may hold it
            call.cancel()
            await send({"type": "http.response.start", "status": 202, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return None
        if not plain_session_call(message) or (session_id, message["id"]) in self._session_calls:
            return replay
        with OpenSessions.held(transport):
            await self._answer_in_session(message, (session_id, message["id"]), send, caller)
        self.door.seen_in_session(session_id)
        return None

    async def _answer_in_session(
        self,
        message: dict[str, Any],
        key: tuple[str, RequestId],
        send: Send,
        caller: Caller,
    ) -> None:
        """The answer as JSON. A host that goes away does not cancel the call (on
        this revision only `notifications/cancelled` does); its answer is lost."""
        params = message["params"]
        incoming = Incoming(
            params=params, protocol_version=SESSION_VERSION, caller=caller, request_id=message["id"]
        )
        call = asyncio.ensure_future(
            _settled(self.door.call_tool(incoming, params["name"], params.get("arguments")))
        )
        self._session_calls[key] = call
        try:
            await asyncio.wait((call,))
        except asyncio.CancelledError:
            call.cancel()
            raise
        finally:
            del self._session_calls[key]
        outcome: Outcome = _CANCELLED if call.cancelled() else call.result()
        response, _ = _response(message["id"], outcome)
        if "result" in response:
            response = _on_handshake_wire(response)
        session_header = (b"mcp-session-id", key[0].encode("latin-1"))
        await _send_json(send, 200, orjson.dumps(response), [session_header])

    def _server_info(self) -> dict[str, Any]:
        # Built once: the SDK's `server_info_stamp` deep-copies its dump on every read.
        if self._stamp is None:
            self._stamp = {SERVER_INFO_META_KEY: self.door.server.server_info_stamp}
        return self._stamp


class _Cancelled:
    """The outcome of a call cancelled by the host's `notifications/cancelled`."""


_CANCELLED = _Cancelled()
Outcome = dict[str, Any] | Exception | _Cancelled


async def _settled(call: Awaitable[dict[str, Any]]) -> Outcome:
    """The call's result, or the exception it raised (cancellation passes through)."""
    try:
        return await call
    except Exception as failure:
        return failure


def _response(request_id: RequestId | None, outcome: Outcome) -> tuple[dict[str, Any], int | None]:
    """The JSON-RPC response to a call's outcome, and the code of the MCP error it
    carries, which may set the HTTP status (None for a result or an internal error)."""
    if isinstance(outcome, dict):
        return {"jsonrpc": "2.0", "id": request_id, "result": outcome}, None
    if isinstance(outcome, _Cancelled):
        error = {"code": REQUEST_CANCELLED, "message": "Request cancelled"}
        return {"jsonrpc": "2.0", "id": request_id, "error": error}, REQUEST_CANCELLED
    if isinstance(outcome, MCPError):
        dumped = outcome.error.model_dump(by_alias=True, mode="json", exclude_none=True)
        return {"jsonrpc": "2.0", "id": request_id, "error": dumped}, outcome.error.code
    # A bug here must still be an answer by the protocol, not a 500.
    log.error("MCP door: tools/call failed", exc_info=outcome)
    error = {"code": INTERNAL_ERROR, "message": "Internal server error"}
    return {"jsonrpc": "2.0", "id": request_id, "error": error}, None


def _on_handshake_wire(response: dict[str, Any]) -> dict[str, Any]:
    """The result as the SDK shapes it for a 2025-11-25 session: validated, and with the
    fields that revision does not have (`resultType`, for one) dropped."""
    try:
        result = serialize_server_result("tools/call", SESSION_VERSION, response["result"])
    except ValidationError:
        # The SDK's answer too; the detail stays in the log, since it echoes the result.
        log.exception("MCP door: tools/call returned an invalid result")
        error = {"code": INTERNAL_ERROR, "message": "Handler returned an invalid result"}
        return {"jsonrpc": "2.0", "id": response["id"], "error": error}
    return {**response, "result": result}


async def _send_json(
    send: Send, status: int, payload: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode()), *extra]
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
    body, ended, left, replay = await _read(receive, length)
    complete = ended and not left and len(body) == length
    return (body if complete else None), replay


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool, bool, Receive]:
    """Reads a body until it ends, the client leaves or it passes `limit` bytes: what was
    read, whether the body ended, whether the client left, and a `receive` that replays
    it all before passing on to the original."""
    chunks: list[bytes] = []
    size = 0
    more = True
    pending: list[Message] = []
    while more and size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            pending.append(message)  # the client left mid-body
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    left = bool(pending)
    pending.insert(0, {"type": "http.request", "body": body, "more_body": more})

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return body, not more, left, replay


async def read_bounded(receive: Receive, limit: int) -> tuple[bytes, Receive] | None:
    """A body of any length: None when it is larger than `limit` bytes, else the body
    and a `receive` that replays it (then passes on to the original)."""
    body, _, _, replay = await _read(receive, limit)
    return None if len(body) > limit else (body, replay)


async def refuse_over_limits(door: McpDoor, scope: Scope, body: bytes, send: Send) -> bool:
    """Before the SDK parses a POST: the `params` of its JSON-RPC message checked against
    the input limits (`McpDoor.check_params`), and answered here when over one (True). The
    SDK's own parser calls a document nested a few hundred levels deep a parse error; here
    it is invalid params naming the limit, as on the other doors. Anything else (not JSON,
    a batch, no object params) passes unchecked: the SDK answers it by the protocol."""
    message = _json_object(body)
    params = message.get("params") if message is not None else None
    if message is None or not isinstance(params, dict):
        return False
    try:
        door.check_params(params)
    except MCPError as refused:
        request_id = message.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, int | str):
            request_id = None
        response, code = _response(request_id, refused)
        # A 2025-11-25 session answers errors in the body, as the fast path does.
        in_session = any(name == b"mcp-session-id" for name, _ in scope["headers"])
        status = 200 if in_session else ERROR_CODE_HTTP_STATUS.get(code or 0, 400)
        await _send_json(send, status, orjson.dumps(response), [])
        return True
    return False


async def _cancel_when_gone(receive: Receive, task: asyncio.Task[Any]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    task.cancel()
