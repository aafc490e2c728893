"""Latency percentiles from the histograms: PostgreSQL and Python bucket alike, and the estimate
stays less than 20% from PostgreSQL's exact percentile_cont."""

from __future__ import annotations

import math
import random
from typing import Any

import asyncpg

from coordinator.usage.latency import (
    HISTOGRAM_SIZE,
    LATENCY_BOUNDS_MS,
    latency_bucket,
    latency_percentiles,
)


def histogram(latencies: list[float]) -> list[int]:
    counts = [0] * HISTOGRAM_SIZE
    for latency in latencies:
        counts[latency_bucket(latency)] += 1
    return counts


def estimate(latencies: list[float]) -> tuple[float, float, float]:
    return latency_percentiles(histogram(latencies), min(latencies), max(latencies))


async def test_postgres_holds_the_same_bounds_and_puts_latencies_in_the_same_buckets(
    db: asyncpg.Connection[Any],
) -> None:
    assert tuple(await db.fetchval("SELECT usage_latency_bounds()")) == LATENCY_BOUNDS_MS
    probes = [0.0, -1.0, 1e12, 0.05, 3.3]
    for bound in LATENCY_BOUNDS_MS:
        probes += [math.nextafter(bound, 0.0), bound, math.nextafter(bound, math.inf)]
    buckets = await db.fetch(
        "SELECT p, usage_latency_bucket(p) AS bucket, usage_latency_one(p) AS one "
        "FROM unnest($1::double precision[]) p",
        probes,
    )
    assert [r["bucket"] for r in buckets] == [latency_bucket(p) for p in probes]
    assert [list(r["one"]) for r in buckets] == [histogram([p]) for p in probes]
    assert latency_bucket(LATENCY_BOUNDS_MS[0]) == 1
    assert latency_bucket(LATENCY_BOUNDS_MS[-1]) == HISTOGRAM_SIZE - 1


async def test_the_histogram_of_many_latencies_counts_each_bucket(
    db: asyncpg.Connection[Any],
) -> None:
    latencies = [0.01, 0.5, 0.5, 1.0, 1.1, 250.0, 250.0, 250.0, 2e5]
    found = await db.fetchval(
        "SELECT usage_latency_histogram(array_agg(usage_latency_bucket(p))) "
        "FROM unnest($1::double precision[]) p",
        latencies,
    )
    assert list(found) == histogram(latencies)
    added = await db.fetchval(
        "SELECT usage_histogram_add($1::integer[], $2::integer[])",
        histogram(latencies),
        histogram([1.0]),
    )
    assert list(added) == histogram([*latencies, 1.0])


def test_a_group_of_one_latency_or_of_equal_latencies_is_exact() -> None:
    assert estimate([42.125]) == (42.125, 42.125, 42.125)
    assert estimate([7.3] * 50) == (7.3, 7.3, 7.3)
    assert estimate([1.0, 900.0]) == (450.5, 855.05, 891.01)


def test_an_empty_group_has_zero_percentiles() -> None:
    assert latency_percentiles([0] * HISTOGRAM_SIZE, math.inf, -math.inf) == (0.0, 0.0, 0.0)


async def test_percentiles_are_less_than_20_percent_from_percentile_cont(
    db: asyncpg.Connection[Any],
) -> None:
    chance = random.Random(19)
    worst = 0.0
    for _ in range(200):
        size = chance.choice([2, 3, 10, 57, 400])
        spread = (chance.uniform(-1, 9), chance.uniform(0.1, 2))
        # Within the bounds' range, where the 20% holds.
        latencies = [
            min(max(chance.lognormvariate(*spread), LATENCY_BOUNDS_MS[0]), 1e5) for _ in range(size)
        ]
        exact = await db.fetchval(
            "SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]::double precision[]) "
            "WITHIN GROUP (ORDER BY p) FROM unnest($1::double precision[]) p",
            latencies,
        )
        for estimated, true in zip(estimate(latencies), exact, strict=True):
            worst = max(worst, abs(estimated - true) / true)
    assert worst < 0.2
    assert worst > 0.0  # estimates, not the exact values


def test_a_histogram_cut_to_its_smallest_and_largest_bucket_gives_the_same_percentiles() -> None:
    chance = random.Random(7)
    for size in (1, 2, 5, 300):
        latencies = [chance.lognormvariate(2, 1.5) for _ in range(size)]
        full = histogram(latencies)
        first, last = latency_bucket(min(latencies)), latency_bucket(max(latencies))
        assert not any(full[:first])
        assert not any(full[last + 1 :])
        cut = full[first : last + 1]
        assert latency_percentiles(cut, min(latencies), max(latencies), first) == estimate(
            latencies
        )
