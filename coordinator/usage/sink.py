"""What the recorder needs from a place that stores usage events, and the one error it raises."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from coordinator.usage.events import UsageEvent

SinkName = Literal["postgres", "supabase", "memory"]


class UsageSinkError(Exception):
    """A batch was not stored. The message says why, in words an operator can act on.

    `retryable` is False when sending the same batch again cannot succeed (the data itself was
    refused); the recorder then drops that batch instead of blocking the queue behind it.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class UsageSink(Protocol):
    """Stores batches of events. Writes must be idempotent on `event_id`."""

    @property
    def name(self) -> SinkName: ...

    async def open(self) -> None:
        """Connects; raises `UsageSinkError`. Called again after a failure."""

    async def write(self, events: Sequence[UsageEvent]) -> None:
        """Stores all events or raises `UsageSinkError`; storing one twice keeps one row."""

    async def close(self) -> None:
        """Releases connections; never raises."""
