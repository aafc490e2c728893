"""The usage event: one per request, the row of `usage_events` (migrations/, 001 and 002)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from coordinator.ids import new_event_id

Door = Literal["grpc", "http", "mcp"]
Operation = Literal["query", "tool", "method"]

# Longer values are cut: events are kept in memory and written to a table, whatever a caller sent.
# The longest label or id a row keeps: an operation label ("tool:" and a tool name of at most
# coordinator.operations.MAX_NAME_CHARS) fits whole.
MAX_LABEL_CHARS = 300
MAX_TEXT_CHARS = 1000
_ELLIPSIS = "…"


def _bounded(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + _ELLIPSIS


@dataclass(frozen=True, slots=True)
class UsageAttempt:
    """One call of one target while serving a request (several when it failed over)."""

    target: str
    outcome: str
    latency_ms: float
    error: str = ""  # why this target did not answer


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageEvent:
    """What happened to one request; the unit recorded by `UsageRecorder`."""

    request_id: str
    door: str
    method: str
    operation: str
    outcome: str
    status_code: str
    latency_ms: float
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    tool_or_method: str = ""
    target: str = ""
    rule: str | None = None
    reason: str | None = None
    confidence: float | None = None
    cached: bool = False
    failover: bool = False
    attempts: tuple[UsageAttempt, ...] = ()
    # The id of the caller's key as configured (coordinator.auth), never the key or its hash.
    api_key_id: str | None = None
    error: str | None = None  # the message the caller got, when the request failed
    # The row's own key: retried writes are harmless, and no caller-chosen value can collide.
    event_id: str = field(default_factory=new_event_id)
    trace_id: str | None = None  # the OpenTelemetry trace, when the request was traced

    def __post_init__(self) -> None:
        if len(self.tool_or_method) > MAX_LABEL_CHARS:
            object.__setattr__(
                self, "tool_or_method", _bounded(self.tool_or_method, MAX_LABEL_CHARS)
            )
        if self.reason is not None and len(self.reason) > MAX_TEXT_CHARS:
            object.__setattr__(self, "reason", _bounded(self.reason, MAX_TEXT_CHARS))
        if self.error is not None and len(self.error) > MAX_TEXT_CHARS:
            object.__setattr__(self, "error", _bounded(self.error, MAX_TEXT_CHARS))
        if len(self.request_id) > MAX_LABEL_CHARS:  # the doors allow 128; a bound all the same
            object.__setattr__(self, "request_id", _bounded(self.request_id, MAX_LABEL_CHARS))


def _text(value: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL; one such byte would make the whole batch fail.
    return value.replace("\x00", "") if "\x00" in value else value


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


def _finite(value: float | None) -> float | None:
    # JSON has no NaN or Infinity; PostgreSQL would refuse the whole batch.
    return value if value is None or math.isfinite(value) else None


def event_row(event: UsageEvent) -> dict[str, Any]:
    """The event as a JSON-ready row of `usage_events` (column name -> value)."""
    time = event.time if event.time.tzinfo else event.time.replace(tzinfo=UTC)
    # In the table's column order (001, then the columns 002 and 006 added).
    return {
        "request_id": _text(event.request_id),
        "time": time.isoformat(),
        "door": _text(event.door),
        "method": _text(event.method),
        "operation": _text(event.operation),
        "tool_or_method": _text(event.tool_or_method),
        "target": _text(event.target),
        "rule": _optional_text(event.rule),
        "reason": _optional_text(event.reason),
        "confidence": _finite(event.confidence),
        "outcome": _text(event.outcome),
        "status_code": _text(event.status_code),
        "latency_ms": _finite(event.latency_ms) or 0.0,
        "cached": event.cached,
        "failover": event.failover,
        "attempts": [
            {
                "target": _text(a.target),
                "outcome": _text(a.outcome),
                "latency_ms": _finite(a.latency_ms),
                "error": _text(_bounded(a.error, MAX_TEXT_CHARS)),
            }
            for a in event.attempts
        ],
        "api_key_id": event.api_key_id,
        "event_id": event.event_id,
        "error": _optional_text(event.error),
        "trace_id": event.trace_id,  # 006
    }


USAGE_COLUMNS: tuple[str, ...] = tuple(
    event_row(
        UsageEvent(
            request_id="",
            door="",
            method="",
            operation="",
            outcome="",
            status_code="",
            latency_ms=0,
        )
    )
)
