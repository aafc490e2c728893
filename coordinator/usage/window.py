"""The Usage backing without a database: the recorder's bounded ring of recent events.

It groups, counts and fills latency histograms in Python exactly as the SQL of `migrations/` does,
so the two backings give the same answer for the same events (tests/usage/test_report_backings.py).
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from coordinator.usage.events import UsageEvent
from coordinator.usage.latency import HISTOGRAM_SIZE, latency_bucket, latency_percentiles
from coordinator.usage.report import (
    CountRow,
    Decision,
    DecisionAttempt,
    Dimension,
    GroupLevel,
    GroupRow,
    UsageFilter,
    UsageQuery,
    UsageReport,
    build_report,
    to_micros,
)
from coordinator.usage.sink import SinkName

_GroupKey = tuple[GroupLevel, int | None, str]


def _matches(event: UsageEvent, query: UsageQuery) -> bool:
    wanted: UsageFilter = query.filter
    return (
        query.start <= event.time < query.end
        and (wanted.target is None or event.target == wanted.target)
        and (wanted.door is None or event.door == wanted.door)
        and (wanted.key_id is None or event.api_key_id == wanted.key_id)
        and (wanted.outcome is None or event.outcome == wanted.outcome)
        and (wanted.request_id is None or event.request_id == wanted.request_id)
    )


class _Tally:
    """Counts of one group, and its latencies as `migrations/005_usage_rollup.sql` keeps them."""

    __slots__ = ("cached", "errors", "failovers", "histogram", "largest", "requests", "smallest")

    def __init__(self) -> None:
        self.requests = self.errors = self.failovers = self.cached = 0
        self.histogram = [0] * HISTOGRAM_SIZE
        self.smallest = math.inf
        self.largest = -math.inf

    def add(self, event: UsageEvent, bucket: int) -> None:
        self.requests += 1
        self.errors += event.outcome != "ok"
        self.failovers += event.failover
        self.cached += event.cached
        self.histogram[bucket] += 1
        self.smallest = min(self.smallest, event.latency_ms)
        self.largest = max(self.largest, event.latency_ms)


def _groups(events: Iterable[UsageEvent], bucket_seconds: int) -> list[GroupRow]:
    bucket_micros = bucket_seconds * 1_000_000
    tallies: dict[_GroupKey, _Tally] = defaultdict(_Tally)
    # Per door the report shows requests only (as the SQL's usage_minute_doors keeps them).
    doors: dict[tuple[int, str], int] = defaultdict(int)
    for event in events:
        micros = to_micros(event.time)
        bucket = micros - micros % bucket_micros
        latency = latency_bucket(event.latency_ms)
        for key in (("target", bucket, event.target), ("bucket", bucket, ""), ("all", None, "")):
            tallies[key].add(event, latency)
        doors[(bucket, event.door)] += 1
    rows = [
        GroupRow(
            level=level,
            bucket=start,
            key=key,
            requests=tally.requests,
            errors=tally.errors,
            failovers=tally.failovers,
            cached=tally.cached,
            latency_ms=latency_percentiles(tally.histogram, tally.smallest, tally.largest),
        )
        for (level, start, key), tally in tallies.items()
    ]
    rows += [
        GroupRow(
            level="door",
            bucket=start,
            key=door,
            requests=requests,
            errors=0,
            failovers=0,
            cached=0,
            latency_ms=(0.0, 0.0, 0.0),
        )
        for (start, door), requests in doors.items()
    ]
    return rows


_DIMENSIONS: tuple[tuple[Dimension, Callable[[UsageEvent], tuple[str, str]]], ...] = (
    ("reason", lambda e: (e.rule or "", e.reason or "")),
    ("door", lambda e: (e.door, "")),
    ("operation", lambda e: (e.tool_or_method, "")),
    ("key_id", lambda e: (e.api_key_id or "", "")),
    ("target", lambda e: (e.target, "")),
)


def _counts(events: Sequence[UsageEvent]) -> list[CountRow]:
    rows: list[CountRow] = []
    for dimension, key_of in _DIMENSIONS:
        tally: dict[tuple[str, str], int] = defaultdict(int)
        for event in events:
            tally[key_of(event)] += 1
        rows.extend(CountRow(dimension, key, detail, n) for (key, detail), n in tally.items())
    return rows


def decision_of(event: UsageEvent) -> Decision:
    return Decision(
        request_id=event.request_id,
        time=event.time,
        door=event.door,
        method=event.method,
        operation=event.operation,
        tool_or_method=event.tool_or_method,
        target=event.target,
        rule=event.rule or "",
        reason=event.reason or "",
        confidence=event.confidence or 0.0,
        outcome=event.outcome,
        status_code=event.status_code,
        latency_ms=event.latency_ms,
        cached=event.cached,
        failover=event.failover,
        attempts=tuple(
            DecisionAttempt(a.target, a.outcome, a.latency_ms, a.error) for a in event.attempts
        ),
        key_id=event.api_key_id or "",
    )


def _recent(events: Sequence[UsageEvent], query: UsageQuery) -> list[Decision]:
    newest_first = sorted(events, key=lambda e: (e.time, e.request_id), reverse=True)
    before = query.before
    if before is not None:
        newest_first = [
            e for e in newest_first if (e.time, e.request_id) < (before.time, before.request_id)
        ]
    return [decision_of(e) for e in newest_first[: query.page_size + 1]]


class WindowReader:
    """Answers from `events()`: the recent events kept in this process (any order)."""

    def __init__(self, events: Callable[[], Sequence[UsageEvent]]) -> None:
        self._events = events

    @property
    def source(self) -> SinkName:
        return "memory"

    async def report(self, query: UsageQuery) -> UsageReport:
        # 0.17 to 0.20 s p50 for a full window (10,000 events, 24 h in 1-minute buckets; the
        # Usage section of bench/RESULTS.md): in a thread, so the event loop (every request in
        # flight) only yields to it in the interpreter's short switch intervals.
        return await asyncio.to_thread(report_from_events, self._events(), query)


def report_from_events(events: Iterable[UsageEvent], query: UsageQuery) -> UsageReport:
    selected = [e for e in events if _matches(e, query)]
    if query.recent_only:
        return build_report("memory", query, (), (), _recent(selected, query))
    return build_report(
        "memory",
        query,
        _groups(selected, query.bucket_seconds),
        _counts(selected),
        _recent(selected, query),
    )
