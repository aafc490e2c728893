"""Reading a Server-Sent Events stream (the WHATWG event-stream format): lines of any length,
an incremental parser, the JSON-RPC messages the events carry, and the resumption loop of a
stream that a server cut early (`Last-Event-ID`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from coordinator.targets.errors import TargetUnavailable

MAX_RESUMES = 5
DEFAULT_RETRY_MS = 1000
MAX_EVENT_BYTES = 64 * 1024 * 1024

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str
    id: str | None
    retry: int | None


class SseParser:
    """Feed it lines (without or with their line terminator); it returns complete events."""

    __slots__ = ("_data", "_event", "_id", "_retry", "last_event_id", "retry")

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self.last_event_id: str | None = None
        self.retry: int | None = None

    def feed_line(self, raw: str) -> SseEvent | None:
        line = raw.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._id = value
                self.last_event_id = value
        elif field == "retry" and value.isdigit():
            self._retry = int(value)
            self.retry = self._retry
        return None

    def flush(self) -> SseEvent | None:
        """The event left at end of stream, if its data was complete."""
        return self._dispatch()

    def _dispatch(self) -> SseEvent | None:
        if not self._data and self._id is None and self._retry is None:
            self._event = ""
            return None
        event = SseEvent(self._event or "message", "\n".join(self._data), self._id, self._retry)
        self._data = []
        self._event = ""
        self._id = None
        self._retry = None
        return event


async def lines(chunks: AsyncIterable[bytes], target: str) -> AsyncIterator[str]:
    """The lines of an event stream, however long (aiohttp's own readline caps them)."""
    buffer = bytearray()
    searched = 0
    async for chunk in chunks:
        buffer += chunk
        while (end := buffer.find(b"\n", searched)) >= 0:
            line = bytes(buffer[: end + 1])
            del buffer[: end + 1]
            searched = 0
            yield line.decode("utf-8", errors="replace")
        searched = len(buffer)
        if searched > MAX_EVENT_BYTES:
            raise TargetUnavailable(
                target, "transport", f"an event stream line exceeds {MAX_EVENT_BYTES} bytes"
            )
    if buffer:
        yield bytes(buffer).decode("utf-8", errors="replace")


async def read_messages(
    chunks: AsyncIterable[bytes],
    parser: SseParser,
    on_data: Callable[[str], T | None],
    target: str,
) -> T | None:
    """Feeds each `message` event's data to `on_data` until it returns something, or the
    stream ends (then None)."""
    async for raw_line in lines(chunks, target):
        event = parser.feed_line(raw_line)
        if event is None or event.event != "message" or not event.data:
            continue
        found = on_data(event.data)
        if found is not None:
            return found
    event = parser.flush()
    if event is not None and event.event == "message" and event.data:
        return on_data(event.data)
    return None


async def resume(
    parser: SseParser,
    delivered: asyncio.Future[T],
    reopen: Callable[[], Awaitable[T | None]],
) -> T | None:
    """After a stream ended early: waits the server's `retry` pause and reopens the stream
    (`reopen` reads on from `parser.last_event_id`), up to `MAX_RESUMES` times; whatever comes
    first, the answer on a reopened stream or `delivered` (set when it came on another stream),
    is returned. None when every reopened stream ended without it."""
    for _ in range(MAX_RESUMES):
        pause = (parser.retry if parser.retry is not None else DEFAULT_RETRY_MS) / 1000
        await asyncio.wait({delivered}, timeout=pause)
        if delivered.done():
            return delivered.result()
        resumed: asyncio.Future[T | None] = asyncio.ensure_future(reopen())
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
    return None
