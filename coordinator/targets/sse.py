"""A minimal incremental Server-Sent Events parser (the WHATWG event-stream format)."""

from __future__ import annotations

from dataclasses import dataclass


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
