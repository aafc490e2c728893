"""What every part of an HTTP target shares: the wire format helpers, the media types, and
`Revision`, what the exchange asks of the protocol revision a request was sent at.

An HTTP target is put together, one concern a module: `HttpTarget` (`coordinator.targets.http`:
lifecycle, which revision, one request retried once when our side was wrong, the notification
listener's loop) holds an `HttpExchange` (`http_exchange`: the aiohttp pool, one POST and its
answer, JSON or an event stream read by `sse`) and one revision object of each kind:
`ModernRevision` (`http_modern`: 2026-07-28, stateless, and the `server/discover` probe) and
`LegacySession` (`http_legacy`: the 2025-11-25 handshake, `Mcp-Session-Id` and its GET streams).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any, Literal, Protocol

import orjson

from coordinator.targets.sse import SseParser

logger = logging.getLogger("coordinator.targets.http")

Generation = Literal["modern", "legacy"]

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream"


class SessionExpired(Exception):
    """A 2025-11-25 server answered 404 for the session id: it forgot the session."""

    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id


class Revision(Protocol):
    """What the exchange needs from the revision a request was sent at."""

    generation: Generation
    # Whether an event stream cut early may be reopened (`resume`).
    resumable: bool

    @property
    def version(self) -> str | None:
        """The protocol version requests carry, once known."""

    def request(
        self, request_id: int, method: str, params: dict[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one request."""

    def session_lost(self, status: int, headers: Mapping[str, str]) -> str | None:
        """The session id the server says it forgot with this answer's status, if any."""

    async def resume(self, parser: SseParser, request_id: int) -> dict[str, Any] | None:
        """Reads on a request's event stream from `parser.last_event_id`."""

    def answer(self, message: Mapping[str, Any]) -> None:
        """Answers a request the server sent on a stream."""

    async def listen_once(self, listening: asyncio.Event) -> str:
        """Opens the stream of notifications outside requests, reads it to its end and says
        how it went: "opened", "failed" or "unsupported"."""


def dumps(message: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(message)
    except TypeError:  # what orjson does not encode (integers past 64 bits) the stdlib does
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def loads(raw: bytes) -> Any:
    """The JSON value of `raw`, or None when it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:  # what orjson does not read (integers past 64 bits, NaN) the stdlib does
        return json.loads(raw)
    except ValueError:
        return None
