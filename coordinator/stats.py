"""Per-target counters and a recent latency window, for Status."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LatencySummary:
    p50_ms: float
    p95_ms: float
    p99_ms: float


class TargetStats:
    """Counts of one target since start, plus the latencies of its last `window` calls."""

    def __init__(self, window: int = 1024) -> None:
        self.requests = 0
        self.errors = 0
        self.failovers = 0
        self.last_error = ""
        self._latencies_ms: deque[float] = deque(maxlen=window)

    def record(self, latency_ms: float, error: str | None = None) -> None:
        self.requests += 1
        self._latencies_ms.append(latency_ms)
        if error is not None:
            self.errors += 1
            self.last_error = error

    def latency(self) -> LatencySummary:
        ordered = sorted(self._latencies_ms)
        return LatencySummary(
            _percentile(ordered, 0.50), _percentile(ordered, 0.95), _percentile(ordered, 0.99)
        )


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for an empty window."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
