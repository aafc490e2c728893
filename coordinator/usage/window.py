"""Per-target figures over the recent events, for /status: requests, errors, failovers, latency.

Pure: give it `recorder.recent(n)`. Each attempt counts for the target it called, so a target
that failed before another answered shows the error, and the failover is counted from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from coordinator.usage.events import UsageEvent


@dataclass(frozen=True, slots=True)
class TargetWindow:
    requests: int
    errors: int
    # Requests this target failed and another target then answered.
    failovers: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    last_error: str | None
    last_error_time: datetime | None


def summarize_recent(events: Iterable[UsageEvent]) -> dict[str, TargetWindow]:
    """Figures per target name over `events` (any order)."""
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    failovers: dict[str, int] = {}
    last_error: dict[str, tuple[datetime, str]] = {}
    for event in events:
        calls = [(a.target, a.outcome, a.latency_ms) for a in event.attempts]
        if not calls and event.target:
            calls = [(event.target, event.outcome, event.latency_ms)]
        for index, (target, outcome, latency_ms) in enumerate(calls):
            latencies.setdefault(target, []).append(latency_ms)
            if outcome == "ok":
                continue
            errors[target] = errors.get(target, 0) + 1
            if index < len(calls) - 1:
                failovers[target] = failovers.get(target, 0) + 1
            known = last_error.get(target)
            if known is None or known[0] <= event.time:
                last_error[target] = (event.time, outcome)
    return {
        target: TargetWindow(
            requests=len(values),
            errors=errors.get(target, 0),
            failovers=failovers.get(target, 0),
            p50_ms=_percentile(values, 50),
            p95_ms=_percentile(values, 95),
            p99_ms=_percentile(values, 99),
            last_error=last_error[target][1] if target in last_error else None,
            last_error_time=last_error[target][0] if target in last_error else None,
        )
        for target, values in latencies.items()
    }


def _percentile(values: list[float], percent: int) -> float | None:
    """Nearest-rank percentile (integer arithmetic, so 95 % of 20 is exactly rank 19)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[rank - 1]
