"""Per-target figures for /status from the recent events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coordinator.usage import UsageAttempt, summarize_recent
from tests.usage.conftest import make_event

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_each_attempt_counts_for_the_target_it_called() -> None:
    events = [
        make_event(1, attempts=(UsageAttempt("odoo_prod", "ok", 10.0),), time=START),
        make_event(
            2,
            time=START + timedelta(seconds=1),
            attempts=(
                UsageAttempt("odoo_prod", "unavailable", 30.0),
                UsageAttempt("odoo_lab", "ok", 5.0),
            ),
        ),
        make_event(
            3,
            time=START + timedelta(seconds=2),
            outcome="error",
            attempts=(UsageAttempt("odoo_prod", "timeout", 50.0),),
        ),
        make_event(4, target="odoo_lab", attempts=(), cached=True, latency_ms=0.2),
        make_event(5, target="", attempts=(), outcome="error"),  # refused before routing
    ]

    summary = summarize_recent(events)

    prod, lab = summary["odoo_prod"], summary["odoo_lab"]
    assert (prod.requests, prod.errors, prod.failovers) == (3, 2, 1)
    assert (prod.p50_ms, prod.p95_ms, prod.p99_ms) == (30.0, 50.0, 50.0)
    assert (prod.last_error, prod.last_error_time) == ("timeout", START + timedelta(seconds=2))
    assert (lab.requests, lab.errors, lab.failovers, lab.last_error) == (2, 0, 0, None)
    assert lab.p50_ms == 0.2
    assert set(summary) == {"odoo_prod", "odoo_lab"}


def test_percentiles_use_nearest_rank() -> None:
    events = [
        make_event(n, attempts=(UsageAttempt("odoo_lab", "ok", float(n)),)) for n in range(1, 21)
    ]
    lab = summarize_recent(events)["odoo_lab"]
    assert (lab.p50_ms, lab.p95_ms, lab.p99_ms) == (10.0, 19.0, 20.0)
    assert summarize_recent([]) == {}
