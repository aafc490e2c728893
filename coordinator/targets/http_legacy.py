"""2025-11-25, with a handshake: `initialize`, then `notifications/initialized`; every later
request carries `Mcp-Session-Id` and `MCP-Protocol-Version`. A 404 for the session id means the
server forgot it (the target renews it once). The session's GET streams: the one that resumes a
request's event stream cut early (`Last-Event-ID`) and the one for notifications outside any
request. The server's own requests on a stream are answered by POST (ping gets {})."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import aiohttp
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from coordinator.targets.base import CLIENT_INFO, HANDSHAKE_VERSION, Progress, result_of
from coordinator.targets.errors import TargetUnavailable
from coordinator.targets.http_exchange import HttpExchange
from coordinator.targets.http_transport import SSE_TYPE, Generation, SessionExpired, dumps, logger
from coordinator.targets.sse import SseParser


class LegacySession:
    """The 2025-11-25 session: opened by `open`, renewed after `forget`, ended by `end`."""

    generation: Generation = "legacy"
    resumable = True

    def __init__(self, wire: HttpExchange) -> None:
        self._wire = wire
        self.session_id: str | None = None
        self.negotiated: str | None = None
        # Replies to the server's requests, posted in the background.
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def version(self) -> str | None:
        return self.negotiated

    def headers(self) -> dict[str, str]:
        headers = dict(self._wire.base_headers)
        if self.negotiated:
            headers["MCP-Protocol-Version"] = self.negotiated
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        return headers

    def request(
        self, request_id: int, method: str, params: dict[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        body = dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return body, self.headers()

    def session_lost(self, status: int, headers: Mapping[str, str]) -> str | None:
        return headers.get("Mcp-Session-Id") if status == 404 else None

    async def open(self) -> None:
        """The handshake: a new session (the server may give it no id)."""
        wire = self._wire
        self.session_id = None
        self.negotiated = None
        request_id = next(wire.ids)
        body = dumps(
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
        message, headers = await wire.exchange(
            body, dict(wire.base_headers), request_id, Progress(), self
        )
        result = result_of(wire.name, message)
        version = result.get("protocolVersion")
        if version not in HANDSHAKE_PROTOCOL_VERSIONS:
            raise TargetUnavailable(
                wire.name, "transport", f"server chose unsupported protocol version {version!r}"
            )
        self.negotiated = str(version)
        self.session_id = headers.get("Mcp-Session-Id")
        await self._notify("notifications/initialized", None)

    def forget(self) -> None:
        self.session_id = None

    async def end(self) -> None:
        """Stops the replies in flight and tells the server the session is over (best effort,
        short)."""
        for task in list(self._background):
            task.cancel()
        http = self._wire.http
        if self.session_id is not None and http is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    async with http.delete(self._wire.url, headers=self.headers()) as resp:
                        await resp.read()
        self.session_id = None

    async def resume(self, parser: SseParser, request_id: int) -> dict[str, Any] | None:
        """GET with `Last-Event-ID`: the rest of a request's event stream."""
        wire = self._wire
        assert wire.http is not None
        headers = self.headers()
        headers["Accept"] = SSE_TYPE
        assert parser.last_event_id is not None
        headers["Last-Event-ID"] = parser.last_event_id
        async with wire.http.get(wire.url, headers=headers) as again:
            if again.status != 200 or again.content_type != SSE_TYPE:
                await again.read()
                raise TargetUnavailable(
                    wire.name,
                    "http_status",
                    f"resuming the event stream: HTTP {again.status}",
                    status=again.status,
                )
            return await wire.read_stream(again, parser, request_id, self)

    async def listen_once(self, listening: asyncio.Event) -> str:
        """The session's GET stream: notifications sent outside any request."""
        wire = self._wire
        assert wire.http is not None
        headers = self.headers()
        headers["Accept"] = SSE_TYPE
        async with wire.http.get(wire.url, headers=headers) as resp:
            if resp.status in (405, 406, 501) or (
                resp.status == 200 and resp.content_type != SSE_TYPE
            ):
                return "unsupported"
            if resp.status != 200:
                await resp.read()
                return "failed"  # e.g. 404: the session expired; the next request renews it
            listening.set()
            await wire.read_stream(resp, SseParser(), None, self)
        return "opened"

    def answer(self, message: Mapping[str, Any]) -> None:
        """The coordinator offers no client features: ping gets {}, anything else -32601."""
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
        if message.get("method") == "ping":
            reply["result"] = {}
        else:
            reply["error"] = {
                "code": -32601,
                "message": f"method not supported: {message.get('method')}",
            }
        task = asyncio.create_task(self._post_no_reply(dumps(reply)))
        self._background.add(task)
        task.add_done_callback(self._forget_reply)

    def _forget_reply(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("background reply failed: %r", task.exception())

    async def _notify(self, method: str, params: Mapping[str, Any] | None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self._post_no_reply(dumps(message))

    async def _post_no_reply(self, body: bytes) -> None:
        wire = self._wire
        assert wire.http is not None
        try:
            async with wire.http.post(wire.url, data=body, headers=self.headers()) as resp:
                await resp.read()
                if resp.status == 404 and self.session_id:
                    raise SessionExpired(self.session_id)
                if resp.status >= 400:
                    raise TargetUnavailable(
                        wire.name,
                        "http_status",
                        f"HTTP {resp.status} for a notification",
                        status=resp.status,
                    )
        except aiohttp.ClientError as exc:
            raise wire.translate(exc, Progress()) from exc
