"""The usage event and its row."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from coordinator.usage import UsageAttempt, event_row
from coordinator.usage.events import MAX_LABEL_CHARS, MAX_TEXT_CHARS
from tests.usage.conftest import make_event


def test_row_is_json_with_every_column() -> None:
    event = make_event(1, time=datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC))

    row = json.loads(json.dumps(event_row(event)))

    assert row["request_id"] == "req-000001"
    assert row["time"] == "2026-01-02T03:04:05.600000+00:00"
    assert row["attempts"] == [
        {"target": "odoo_prod", "outcome": "unavailable", "latency_ms": 3.25, "error": ""},
        {"target": "odoo_lab", "outcome": "ok", "latency_ms": 9.0, "error": ""},
    ]
    assert row["api_key_id"] == "0123456789abcdef"
    assert row["event_id"] == event.event_id
    assert row["event_id"] != make_event(1).event_id  # every event its own key


def test_caller_supplied_text_is_bounded_and_storable() -> None:
    event = make_event(
        2,
        tool_or_method="t" * 10_000,
        reason="r" * 10_000,
        request_id="nul\x00byte",
        latency_ms=float("nan"),
        confidence=float("inf"),
        attempts=(UsageAttempt("odoo_lab", "ok", float("inf")),),
    )

    row = event_row(event)

    assert len(event.tool_or_method) == MAX_LABEL_CHARS
    assert event.reason is not None
    assert len(event.reason) == MAX_TEXT_CHARS
    assert row["request_id"] == "nulbyte"
    assert row["latency_ms"] == 0.0
    assert row["confidence"] is None
    assert row["attempts"][0]["latency_ms"] is None
    json.dumps(row, allow_nan=False)


def test_naive_time_is_taken_as_utc() -> None:
    row = event_row(make_event(3, time=datetime(2026, 1, 2, 3, 4, 5)))
    assert row["time"] == "2026-01-02T03:04:05+00:00"


def test_the_error_and_an_overlong_request_id_are_bounded() -> None:
    event = make_event(3, error="e" * 10_000, request_id="r" * 1_000)
    assert event.error is not None
    assert len(event.error) == MAX_TEXT_CHARS
    assert event.error.endswith("…")
    assert len(event.request_id) == MAX_LABEL_CHARS
