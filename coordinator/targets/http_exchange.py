"""One request's POST and its answer: JSON, or an event stream that may carry notifications
and server requests before the response, and that a 2025-11-25 server may cut early and resume
with `Last-Event-ID` (the response may then come on any stream, the listener's included)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from coordinator import tracing
from coordinator.targets.base import Progress, error_from_json
from coordinator.targets.errors import TargetUnavailable
from coordinator.targets.http_transport import (
    SSE_TYPE,
    HttpTransport,
    SessionExpired,
    dumps,
    loads,
    logger,
)
from coordinator.targets.sse import SseParser

MAXSSE_TYPE_RESUMES = 5
DEFAULTSSE_TYPE_RETRY_MS = 1000
MAX_EVENT_BYTES = 64 * 1024 * 1024


class HttpExchange(HttpTransport):
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
                    raise SessionExpired(headers["Mcp-Session-Id"])
                if status == 200 and resp.content_type == SSE_TYPE:
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
            message = loads(raw)
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
            for _ in range(MAXSSE_TYPE_RESUMES):
                pause = (
                    parser.retry if parser.retry is not None else DEFAULTSSE_TYPE_RETRY_MS
                ) / 1000
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
        headers["Accept"] = SSE_TYPE
        assert parser.last_event_id is not None
        headers["Last-Event-ID"] = parser.last_event_id
        async with self._http.get(self.url, headers=headers) as again:
            if again.status != 200 or again.content_type != SSE_TYPE:
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
        task = asyncio.create_task(self._post_no_reply(dumps(reply)))
        self._background.add(task)
        task.add_done_callback(_forget(self._background))


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
