"""Streamable HTTP targets, both protocol generations, over one aiohttp pool per target.

2026-07-28 (stateless): every request is a self-contained POST carrying the
`MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers and the
`_meta` envelope (protocol version, client info, client capabilities).

2025-11-25 (handshake): `initialize`, then `notifications/initialized`; every
later request carries `Mcp-Session-Id` and `MCP-Protocol-Version`. A 404 for
the session id means the server forgot it: the session is re-initialized once
and the request retried (a 404 proves the request did not run).

`protocol: auto` probes `server/discover` once and falls back to the
handshake on anything that is not positive evidence of a 2026-07-28 server.
One session serves every concurrent request; JSON-RPC ids come from one
counter per target. Replies may be JSON or an SSE stream (which may carry
notifications and server requests before the response, and may be resumed
with `Last-Event-ID` when the server closes it early).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import aiohttp
from mcp.shared.inbound import (
    NAME_BEARING_METHODS,
    encode_header_value,
    find_invalid_x_mcp_header,
    mcp_param_headers,
    x_mcp_header_map,
)
from mcp_types import HEADER_MISMATCH, UNSUPPORTED_PROTOCOL_VERSION
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from coordinator import tracing
from coordinator.config import TargetConfig
from coordinator.targets.base import (
    CLIENT_INFO,
    DEFAULT_TIMEOUT,
    HANDSHAKE_VERSION,
    MODERN_VERSION,
    Progress,
    Target,
    add_modern_meta,
    error_from_json,
    result_of,
)
from coordinator.targets.errors import McpErrorResponse, TargetUnavailable
from coordinator.targets.sse import SseParser
from coordinator.targets.tools import ToolInfo

logger = logging.getLogger(__name__)

Generation = Literal["modern", "legacy"]

MAX_SSE_RESUMES = 5
DEFAULT_SSE_RETRY_MS = 1000
MAX_EVENT_BYTES = 64 * 1024 * 1024
LEGACY_PROBE_REJECTIONS = frozenset({400, 405, 406, 415, 422})
LISTEN_RETRY_FIRST = 0.5
LISTEN_RETRY_MAX = 30.0
_JSON = "application/json"
_SSE = "text/event-stream"


class _SessionExpired(Exception):
    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id


def _dumps(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


class HttpTarget(Target):
    transport = "http"

    def __init__(
        self,
        config: TargetConfig,
        *,
        pool_size: int = 256,
        default_timeout: float = DEFAULT_TIMEOUT,
        listen: bool = True,
    ) -> None:
        super().__init__(config, default_timeout=default_timeout)
        self._listen_enabled = listen
        self._listener: asyncio.Task[None] | None = None
        # Set while a stream for notifications outside requests is open.
        self.listening = asyncio.Event()
        assert config.url is not None
        self.url = config.url
        self._pool_size = pool_size
        self._http: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        forced: dict[str, Generation] = {MODERN_VERSION: "modern", HANDSHAKE_VERSION: "legacy"}
        self._generation: Generation | None = forced.get(config.protocol)
        self._ready = False
        self._session_id: str | None = None
        self._negotiated: str | None = None
        self._connect_lock = asyncio.Lock()
        self._base_headers: dict[str, str] = {"Accept": f"{_JSON}, {_SSE}", "Content-Type": _JSON}
        self._base_headers.update(config.headers)
        self._param_header_maps: dict[str, dict[tuple[str, ...], str]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        # Requests whose event stream ended early, by id: their response may come on whichever
        # stream the server picks to resume on, the notification listener's GET included.
        self._resuming: dict[int, asyncio.Future[dict[str, Any]]] = {}

    @property
    def protocol_version(self) -> str | None:
        return self._negotiated if self._ready else None

    @property
    def session_id(self) -> str | None:
        """The 2025-11-25 `Mcp-Session-Id` in use, if any."""
        return self._session_id

    @property
    def generation(self) -> Generation | None:
        return self._generation

    # ----------------------------------------------------------------- lifecycle

    async def _start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=60.0)
        self._http = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            trust_env=False,
            auto_decompress=True,
        )

    async def _close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        for task in list(self._background):
            task.cancel()
        if self._session_id is not None and self._http is not None:
            # Polite: tell the server the session is over (best effort, short).
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    headers = self._session_headers()
                    async with self._http.delete(self.url, headers=headers) as resp:
                        await resp.read()
        self._ready = False
        self._session_id = None
        if self._http is not None:
            await self._http.close()

    # ----------------------------------------------------------------- requests

    async def _request(
        self, method: str, params: dict[str, Any], progress: Progress
    ) -> dict[str, Any]:
        if not self._ready:
            await self._connect_before_sending()
        for attempt in range(2):
            generation = self._generation
            session_id = self._session_id
            request_id = next(self._ids)
            if generation == "modern":
                body, headers = self._modern_request(request_id, method, params)
            else:
                body = _dumps(
                    {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
                )
                headers = self._session_headers()
            try:
                message, _ = await self._exchange(
                    body, headers, request_id, progress, legacy=generation == "legacy"
                )
                return result_of(self.name, message)
            except _SessionExpired:
                if attempt:
                    raise TargetUnavailable(
                        self.name, "http_status", "session not found twice in a row", status=404
                    ) from None
                await self._reconnect(session_id)
            except McpErrorResponse as error:
                if attempt or not await self._recover(error, generation, method, params):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _recover(
        self,
        error: McpErrorResponse,
        generation: Generation | None,
        method: str,
        params: Mapping[str, Any],
    ) -> bool:
        """Whether a JSON-RPC error is worth one retry after fixing our side."""
        if error.code == UNSUPPORTED_PROTOCOL_VERSION and generation == "modern":
            supported = error.data.get("supported") if isinstance(error.data, Mapping) else None
            if isinstance(supported, list) and MODERN_VERSION in supported:
                return True  # rejected before it ran, and the server names our version: once more
        if error.code == UNSUPPORTED_PROTOCOL_VERSION and self.config.protocol == "auto":
            # The server changed generation under us (upgraded or downgraded): detect again.
            async with self._connect_lock:
                if self._generation == generation:
                    self._ready = False
                    self._generation = None
                    self._session_id = None
            await self._connect()
            return True
        if error.code == HEADER_MISMATCH and generation == "modern" and method == "tools/call":
            name = params.get("name")
            if isinstance(name, str) and name not in self._param_header_maps:
                with contextlib.suppress(Exception):
                    await self.list_tools(refresh=True)
                return name in self._param_header_maps
        return False

    def _session_headers(self) -> dict[str, str]:
        headers = dict(self._base_headers)
        if self._negotiated:
            headers["MCP-Protocol-Version"] = self._negotiated
        if self._session_id:
            headers["Mcp-Session-Id"] = self._session_id
        return headers

    def _modern_request(
        self, request_id: int, method: str, params: dict[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        add_modern_meta(params)
        headers = dict(self._base_headers)
        headers["MCP-Protocol-Version"] = MODERN_VERSION
        headers["Mcp-Method"] = method
        name_key = NAME_BEARING_METHODS.get(method)
        if name_key is not None:
            name = params.get(name_key)
            if isinstance(name, str):
                headers["Mcp-Name"] = encode_header_value(name)
            if method == "tools/call" and isinstance(name, str):
                header_map = self._param_header_maps.get(name)
                arguments = params.get("arguments")
                if header_map and isinstance(arguments, Mapping):
                    headers.update(mcp_param_headers(header_map, arguments))
        body = _dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return body, headers

    def _accept_tool(self, tool: ToolInfo) -> bool:
        # SEP-2243: a tool with a malformed x-mcp-header annotation MUST NOT be used.
        problem = find_invalid_x_mcp_header(dict(tool.input_schema))
        if problem is not None:
            logger.warning("target %s: ignoring tool %r: %s", self.name, tool.name, problem)
            return False
        return True

    def _tools_fetched(self, tools: Mapping[str, ToolInfo]) -> None:
        maps: dict[str, dict[tuple[str, ...], str]] = {}
        for name, tool in tools.items():
            header_map = x_mcp_header_map(dict(tool.input_schema))
            if header_map:
                maps[name] = header_map
        self._param_header_maps = maps

    # ----------------------------------------------------------------- connecting

    async def _connect_before_sending(self) -> None:
        """Connects; a failure here proves the caller's request was never sent."""
        try:
            await self._connect()
        except TargetUnavailable as error:
            if error.may_have_run:
                error.may_have_run = False
            raise

    async def _connect(self) -> None:
        await self._connect_once()
        if self._listen_enabled and self._listener is None and self._ready and not self._closed:
            self._listener = asyncio.create_task(self._listen(), name=f"{self.name}-listen")

    async def _connect_once(self) -> None:
        async with self._connect_lock:
            if self._ready:
                return
            if self._generation is None:
                self._generation = await self._detect()
                if self._generation == "modern":
                    self._negotiated = MODERN_VERSION
                    self._ready = True
                    return
            if self._generation == "modern":
                self._negotiated = MODERN_VERSION
                self._ready = True
                return
            try:
                await self._initialize()
            except McpErrorResponse as error:
                if error.code != UNSUPPORTED_PROTOCOL_VERSION or self.config.protocol != "auto":
                    raise
                # A modern-only server: it names its versions, so speak 2026-07-28.
                self._generation = "modern"
                self._negotiated = MODERN_VERSION
                self._ready = True

    async def _reconnect(self, expired_session: str | None) -> None:
        async with self._connect_lock:
            if self._session_id == expired_session:
                self._ready = False
                self._session_id = None
        await self._connect()

    async def _detect(self) -> Generation:
        """`server/discover` at 2026-07-28; anything but a modern answer means the handshake."""
        request_id = next(self._ids)
        body, headers = self._modern_request(request_id, "server/discover", {})
        try:
            message, _ = await self._exchange(body, headers, request_id, Progress(), legacy=False)
            result = result_of(self.name, message)
        except McpErrorResponse as error:
            if error.code == UNSUPPORTED_PROTOCOL_VERSION and isinstance(error.data, Mapping):
                supported = error.data.get("supported")
                if isinstance(supported, list):
                    if MODERN_VERSION in supported:
                        return "modern"
                    if not any(v in HANDSHAKE_PROTOCOL_VERSIONS for v in supported):
                        raise
            return "legacy"
        except TargetUnavailable as error:
            # A server that predates 2026-07-28 rejects the probe as a bad request; an
            # auth failure, a wrong path or an overloaded server says nothing about it.
            if error.kind == "http_status" and error.status in LEGACY_PROBE_REJECTIONS:
                return "legacy"
            raise
        supported = result.get("supportedVersions")
        if isinstance(supported, list) and MODERN_VERSION in supported:
            return "modern"
        return "legacy"

    async def _initialize(self) -> None:
        self._session_id = None
        self._negotiated = None
        request_id = next(self._ids)
        body = _dumps(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "initialize",
                "params": {
                    "protocolVersion": HANDSHAKE_VERSION,
                    "capabilities": {},
                    "clientInfo": CLIENT_INFO,
                },
            }
        )
        message, headers = await self._exchange(
            body, dict(self._base_headers), request_id, Progress(), legacy=True
        )
        result = result_of(self.name, message)
        version = result.get("protocolVersion")
        if version not in HANDSHAKE_PROTOCOL_VERSIONS:
            raise TargetUnavailable(
                self.name, "transport", f"server chose unsupported protocol version {version!r}"
            )
        self._negotiated = str(version)
        self._session_id = headers.get("Mcp-Session-Id")
        await self._notify("notifications/initialized", None)
        self._ready = True

    async def _notify(self, method: str, params: Mapping[str, Any] | None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self._post_no_reply(_dumps(message))

    async def _post_no_reply(self, body: bytes) -> None:
        assert self._http is not None
        try:
            async with self._http.post(
                self.url, data=body, headers=self._session_headers()
            ) as resp:
                await resp.read()
                if resp.status == 404 and self._session_id:
                    raise _SessionExpired(self._session_id)
                if resp.status >= 400:
                    raise TargetUnavailable(
                        self.name,
                        "http_status",
                        f"HTTP {resp.status} for a notification",
                        status=resp.status,
                    )
        except aiohttp.ClientError as exc:
            raise self._translate(exc, Progress()) from exc

    # ----------------------------------------------------------------- one exchange

    async def _exchange(
        self,
        body: bytes,
        headers: dict[str, str],
        request_id: int,
        progress: Progress,
        *,
        legacy: bool,
    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        """POSTs one request and returns its JSON-RPC response message and the HTTP headers."""
        http = self._http
        if http is None:
            raise TargetUnavailable(
                self.name, "closed", "target is not started", may_have_run=False
            )
        progress.sent = True
        try:
            tracing.inject_headers(headers)
            async with http.post(self.url, data=body, headers=headers) as resp:
                status = resp.status
                if status == 404 and legacy and headers.get("Mcp-Session-Id"):
                    await resp.read()
                    raise _SessionExpired(headers["Mcp-Session-Id"])
                if status == 200 and resp.content_type == _SSE:
                    message = await self._read_sse(resp, request_id, legacy)
                    return message, resp.headers
                raw = await resp.read()
                return self._decode(status, resp.content_type, raw, request_id), resp.headers
        except aiohttp.ClientError as exc:
            raise self._translate(exc, progress) from exc

    def _decode(
        self, status: int, content_type: str, raw: bytes, request_id: int
    ) -> dict[str, Any]:
        message: Any = None
        if raw:
            try:
                message = json.loads(raw)
            except ValueError:
                message = None
        if status >= 500:
            raise TargetUnavailable(
                self.name, "http_status", f"HTTP {status}{_detail(message)}", status=status
            )
        if (
            isinstance(message, dict)
            and isinstance(message.get("error"), dict)
            and "id" in message
            and message["id"] in (request_id, None)
        ):
            raise error_from_json(self.name, message["error"])
        if status >= 400:
            raise TargetUnavailable(
                self.name, "http_status", f"HTTP {status}{_detail(message)}", status=status
            )
        if not isinstance(message, dict):
            what = "an empty body" if not raw else f"an unreadable {content_type or 'untyped'} body"
            raise TargetUnavailable(self.name, "transport", f"HTTP {status} with {what}")
        if message.get("id") != request_id:
            raise TargetUnavailable(
                self.name, "transport", "response id does not match the request"
            )
        return message

    async def _read_sse(
        self, resp: aiohttp.ClientResponse, request_id: int, legacy: bool
    ) -> dict[str, Any]:
        # From now on the response may come on another stream than this one: a 2025-11-25
        # server that closes this stream on purpose may send it on the notification listener's
        # GET, or on the GET that resumes this stream (with Last-Event-ID).
        delivered: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._resuming[request_id] = delivered
        try:
            parser = SseParser()
            found = await self._consume_sse(resp, parser, request_id, legacy)
            if found is not None:
                return found
            if not legacy or parser.last_event_id is None:
                raise TargetUnavailable(
                    self.name, "transport", "event stream ended before the response"
                )
            for _ in range(MAX_SSE_RESUMES):
                pause = (parser.retry if parser.retry is not None else DEFAULT_SSE_RETRY_MS) / 1000
                await asyncio.wait({delivered}, timeout=pause)
                if delivered.done():
                    return delivered.result()
                resumed: asyncio.Future[dict[str, Any] | None] = asyncio.ensure_future(
                    self._resume_sse(parser, request_id)
                )
                either: set[asyncio.Future[Any]] = {resumed, delivered}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if delivered.done():
                    resumed.cancel()
                    with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                        await resumed
                    return delivered.result()
                found = resumed.result()
                if found is not None:
                    return found
        finally:
            self._resuming.pop(request_id, None)
        raise TargetUnavailable(self.name, "transport", "event stream ended before the response")

    async def _resume_sse(self, parser: SseParser, request_id: int) -> dict[str, Any] | None:
        """GET with `Last-Event-ID`: the rest of a 2025-11-25 request's event stream."""
        assert self._http is not None
        headers = self._session_headers()
        headers["Accept"] = _SSE
        assert parser.last_event_id is not None
        headers["Last-Event-ID"] = parser.last_event_id
        async with self._http.get(self.url, headers=headers) as again:
            if again.status != 200 or again.content_type != _SSE:
                await again.read()
                raise TargetUnavailable(
                    self.name,
                    "http_status",
                    f"resuming the event stream: HTTP {again.status}",
                    status=again.status,
                )
            return await self._consume_sse(again, parser, request_id, legacy=True)

    async def _consume_sse(
        self,
        resp: aiohttp.ClientResponse,
        parser: SseParser,
        request_id: int | None,
        legacy: bool,
    ) -> dict[str, Any] | None:
        async for raw_line in self._lines(resp):
            event = parser.feed_line(raw_line)
            if event is None or event.event != "message" or not event.data:
                continue
            found = self._on_message(event.data, request_id, legacy)
            if found is not None:
                return found
        event = parser.flush()
        if event is not None and event.event == "message" and event.data:
            return self._on_message(event.data, request_id, legacy)
        return None

    async def _lines(self, resp: aiohttp.ClientResponse) -> AsyncIterator[str]:
        """The lines of an event stream, however long (aiohttp's own readline caps them)."""
        buffer = bytearray()
        searched = 0
        async for chunk in resp.content.iter_any():
            buffer += chunk
            while (end := buffer.find(b"\n", searched)) >= 0:
                line = bytes(buffer[: end + 1])
                del buffer[: end + 1]
                searched = 0
                yield line.decode("utf-8", errors="replace")
            searched = len(buffer)
            if searched > MAX_EVENT_BYTES:
                raise TargetUnavailable(
                    self.name, "transport", f"an event stream line exceeds {MAX_EVENT_BYTES} bytes"
                )
        if buffer:
            yield bytes(buffer).decode("utf-8", errors="replace")

    def _on_message(self, data: str, request_id: int | None, legacy: bool) -> dict[str, Any] | None:
        try:
            message = json.loads(data)
        except ValueError:
            raise TargetUnavailable(
                self.name, "transport", "unreadable event in the event stream"
            ) from None
        if not isinstance(message, dict):
            return None
        if "method" in message:
            if "id" in message:
                self._answer_server_request(message, legacy)
            else:
                self._on_notification(str(message["method"]), message.get("params"))
            return None
        if "result" not in message and "error" not in message:
            return None
        if message.get("id") == request_id:
            return message
        resuming = self._resuming.get(message.get("id"))  # type: ignore[arg-type]
        if resuming is not None and not resuming.done():
            resuming.set_result(message)  # it came on another stream than its own
        return None

    def _answer_server_request(self, message: Mapping[str, Any], legacy: bool) -> None:
        """The coordinator offers no client features: ping gets {}, anything else -32601."""
        if not legacy:
            return  # 2026-07-28 has no back channel for replies
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
        if message.get("method") == "ping":
            reply["result"] = {}
        else:
            reply["error"] = {
                "code": -32601,
                "message": f"method not supported: {message.get('method')}",
            }
        task = asyncio.create_task(self._post_no_reply(_dumps(reply)))
        self._background.add(task)
        task.add_done_callback(_forget(self._background))

    # ----------------------------------------------------------------- server notifications

    async def _listen(self) -> None:
        """Keeps one stream open for notifications sent outside any request.

        2025-11-25: the session's GET stream; 2026-07-28: `subscriptions/listen`.
        Reopened after it ends or breaks (with a growing pause while the target
        is down); given up when the server says it offers none.
        """
        pause = LISTEN_RETRY_FIRST
        while not self._closed:
            try:
                if self._generation == "modern":
                    outcome = await self._listen_modern()
                else:
                    outcome = await self._listen_legacy()
                if outcome == "unsupported":
                    logger.debug("target %s offers no notification stream", self.name)
                    return
                if outcome == "opened":
                    pause = LISTEN_RETRY_FIRST
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.debug("target %s: notification stream: %r", self.name, exc)
            finally:
                self.listening.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, LISTEN_RETRY_MAX)

    async def _listen_legacy(self) -> str:
        assert self._http is not None
        headers = self._session_headers()
        headers["Accept"] = _SSE
        async with self._http.get(self.url, headers=headers) as resp:
            if resp.status in (405, 406, 501) or (resp.status == 200 and resp.content_type != _SSE):
                return "unsupported"
            if resp.status != 200:
                await resp.read()
                return "failed"  # e.g. 404: the session expired; the next request renews it
            self.listening.set()
            await self._consume_sse(resp, SseParser(), None, legacy=True)
        return "opened"

    async def _listen_modern(self) -> str:
        assert self._http is not None
        request_id = next(self._ids)
        params: dict[str, Any] = {
            "notifications": {
                "toolsListChanged": True,
                "promptsListChanged": True,
                "resourcesListChanged": True,
            }
        }
        body, headers = self._modern_request(request_id, "subscriptions/listen", params)
        async with self._http.post(self.url, data=body, headers=headers) as resp:
            if resp.status != 200 or resp.content_type != _SSE:
                await resp.read()
                unsupported = resp.status == 200 or 400 <= resp.status < 500
                return "unsupported" if unsupported else "failed"
            self.listening.set()
            await self._consume_sse(resp, SseParser(), request_id, legacy=False)
        return "opened"

    def _translate(self, exc: aiohttp.ClientError, progress: Progress) -> TargetUnavailable:
        if self._closed:
            return TargetUnavailable(self.name, "closed", "target was closed", progress.sent)
        if isinstance(exc, aiohttp.ClientConnectorError):
            return TargetUnavailable(
                self.name, "refused", f"cannot connect: {exc.os_error}", may_have_run=False
            )
        if isinstance(
            exc,
            aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientOSError,
        ):
            return TargetUnavailable(
                self.name, "reset", f"connection broke: {exc}", may_have_run=progress.sent
            )
        return TargetUnavailable(
            self.name, "transport", f"{type(exc).__name__}: {exc}", may_have_run=progress.sent
        )


def _detail(message: Any) -> str:
    if isinstance(message, dict) and isinstance(message.get("error"), dict):
        text = message["error"].get("message")
        if isinstance(text, str) and text:
            return f": {text[:200]}"
    return ""


def _forget(tasks: set[asyncio.Task[Any]]) -> Any:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("background reply failed: %r", task.exception())

    return done
