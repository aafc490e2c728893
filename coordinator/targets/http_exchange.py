"""One HTTP target's aiohttp pool and one request's POST and answer: JSON, or an event stream
that may carry notifications and server requests before the response, and that a 2025-11-25
server may cut early and resume with `Last-Event-ID` (the response may then come on any
stream, the listener's included). What differs by revision is asked of the `Revision`."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from coordinator import tracing
from coordinator.targets import sse
from coordinator.targets.base import Progress, error_from_json
from coordinator.targets.errors import TargetUnavailable
from coordinator.targets.http_transport import SSE_TYPE, Revision, SessionExpired, loads


class HttpExchange:
    """The pool, the JSON-RPC ids and the base headers one target's revisions share."""

    def __init__(
        self,
        name: str,
        url: str,
        base_headers: Mapping[str, str],
        *,
        pool_size: int,
        closed: Callable[[], bool],
        on_notification: Callable[[str, Any], None],
    ) -> None:
        self.name = name
        self.url = url
        self.base_headers = dict(base_headers)
        self.http: aiohttp.ClientSession | None = None
        self.ids = itertools.count(1)
        self._pool_size = pool_size
        self._closed = closed
        self._on_notification = on_notification
        # Requests whose event stream ended early, by id: their response may come on whichever
        # stream the server picks to resume on, the notification listener's GET included.
        self._resuming: dict[int, asyncio.Future[dict[str, Any]]] = {}

    def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=60.0)
        self.http = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            trust_env=False,
            auto_decompress=True,
        )

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def exchange(
        self,
        body: bytes,
        headers: dict[str, str],
        request_id: int,
        progress: Progress,
        revision: Revision,
    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        """POSTs one request and returns its JSON-RPC response message and the HTTP headers."""
        http = self.http
        if http is None:
            raise TargetUnavailable(
                self.name, "closed", "target is not started", may_have_run=False
            )
        progress.sent = True
        try:
            tracing.inject_headers(headers)
            async with http.post(self.url, data=body, headers=headers) as resp:
                status = resp.status
                lost = revision.session_lost(status, headers)
                if lost:
                    await resp.read()
                    raise SessionExpired(lost)
                if status == 200 and resp.content_type == SSE_TYPE:
                    message = await self._read_sse(resp, request_id, revision)
                    return message, resp.headers
                raw = await resp.read()
                return self._decode(status, resp.content_type, raw, request_id), resp.headers
        except aiohttp.ClientError as exc:
            raise self.translate(exc, progress) from exc

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
        self, resp: aiohttp.ClientResponse, request_id: int, revision: Revision
    ) -> dict[str, Any]:
        # From now on the response may come on another stream than this one: a 2025-11-25
        # server that closes this stream on purpose may send it on the notification listener's
        # GET, or on the GET that resumes this stream (with Last-Event-ID).
        delivered: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._resuming[request_id] = delivered
        try:
            parser = sse.SseParser()
            found = await self.read_stream(resp, parser, request_id, revision)
            if found is None and revision.resumable and parser.last_event_id is not None:
                found = await sse.resume(
                    parser, delivered, lambda: revision.resume(parser, request_id)
                )
            if found is not None:
                return found
        finally:
            self._resuming.pop(request_id, None)
        raise TargetUnavailable(self.name, "transport", "event stream ended before the response")

    async def read_stream(
        self,
        resp: aiohttp.ClientResponse,
        parser: sse.SseParser,
        request_id: int | None,
        revision: Revision,
    ) -> dict[str, Any] | None:
        """Reads an event stream until the response to `request_id` (None: to its end),
        passing on the notifications and server requests before it."""
        return await sse.read_messages(
            resp.content.iter_any(),
            parser,
            lambda data: self._on_message(data, request_id, revision),
            self.name,
        )

    def _on_message(
        self, data: str, request_id: int | None, revision: Revision
    ) -> dict[str, Any] | None:
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
                revision.answer(message)
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

    def translate(self, exc: aiohttp.ClientError, progress: Progress) -> TargetUnavailable:
        """The one place where aiohttp's errors become `TargetUnavailable`."""
        if self._closed():
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
