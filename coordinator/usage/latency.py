"""Latency percentiles from a histogram over fixed, log-spaced bounds, for every Usage backing.

PostgreSQL keeps per-minute histograms (`migrations/005_usage_rollup.sql`, whose
`usage_latency_bounds()` holds these very numbers) and the in-process window counts its events
into the same buckets; both hand a group's bucket counts, smallest and largest latency to
`latency_percentiles`, so every backing gives the same doubles.

Bounds: four per doubling (x1, x1.19, x1.41, x1.68) from 0.0625 ms to 110 s; bucket 0 holds
what is below the first bound, the last bucket what is at or above the last one. A percentile
is PostgreSQL's `percentile_cont` (at position p x (n - 1) among the n latencies, interpolated
between the two nearest requests) over estimated latencies: the fastest and slowest request are
the group's smallest and largest latency, every other request sits in the middle of an equal
slice of its bucket (the bucket's bounds, narrowed to the smallest and largest latency).
Each estimate lies in the same bucket as the true latency, and a bucket's upper bound is at most
1.1915 times its lower one, so a percentile is less than 20% from `percentile_cont` over the
exact latencies, for latencies from 0.0625 ms to 110 s.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

PERCENTILES = (0.5, 0.95, 0.99)

# Multiples of a power of two by a short decimal: exact doubles whose shortest text is the SQL
# literal, so PostgreSQL and Python hold the same numbers.
LATENCY_BOUNDS_MS: tuple[float, ...] = tuple(
    mantissa * 2.0**exponent for exponent in range(-4, 17) for mantissa in (1.0, 1.19, 1.41, 1.68)
)
HISTOGRAM_SIZE = len(LATENCY_BOUNDS_MS) + 1


def latency_bucket(latency_ms: float) -> int:
    """The bucket of one latency: PostgreSQL's width_bucket over the same bounds."""
    return bisect_right(LATENCY_BOUNDS_MS, latency_ms)


def latency_percentiles(
    counts: Sequence[int], smallest: float, largest: float, first: int = 0
) -> tuple[float, float, float]:
    """p50, p95, p99 of a group: `counts` per bucket from bucket `first` on (the buckets left out
    before and after hold nothing) and the group's smallest and largest latency; zeros for an
    empty group."""
    cumulative = list(accumulate(counts))
    last = cumulative[-1] - 1 if cumulative else -1
    if last < 0:
        return (0.0, 0.0, 0.0)
    estimates = [0.0, 0.0, 0.0]
    for index, fraction in enumerate(PERCENTILES):
        # Placed and interpolated between two neighbours as percentile_cont does.
        position = fraction * last
        below = math.floor(position)
        value = _nth(below, last, first, counts, cumulative, smallest, largest)
        if below != position:
            above = _nth(below + 1, last, first, counts, cumulative, smallest, largest)
            value += (above - value) * (position - below)
        estimates[index] = value
    return (estimates[0], estimates[1], estimates[2])


_LAST_BOUND = len(LATENCY_BOUNDS_MS)


def _nth(
    rank: int,
    last: int,
    first: int,
    counts: Sequence[int],
    cumulative: list[int],
    smallest: float,
    largest: float,
) -> float:
    """The estimated latency of the group's rank-th fastest request (from 0)."""
    if rank == 0:
        return smallest
    if rank == last:
        return largest
    index = bisect_right(cumulative, rank)
    within = rank - cumulative[index - 1] if index else rank
    bucket = first + index
    lower = smallest
    if bucket and LATENCY_BOUNDS_MS[bucket - 1] > smallest:
        lower = LATENCY_BOUNDS_MS[bucket - 1]
    upper = largest
    if bucket < _LAST_BOUND and LATENCY_BOUNDS_MS[bucket] < largest:
        upper = LATENCY_BOUNDS_MS[bucket]
    # A bucket's requests sit in the middles of equal slices of its span.
    return lower + (upper - lower) * ((within + 0.5) / counts[index])
