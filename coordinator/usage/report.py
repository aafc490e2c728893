"""The Usage report: what was asked (`UsageQuery`), what is answered (`UsageReport`), and the
shaping both backings share.

A backing (the in-process window, PostgreSQL, Supabase) only produces grouped rows: `GroupRow`s
(counts and latency percentiles per bucket and target, per bucket, per bucket and door, and over
the whole window), `CountRow`s (the breakdowns) and `Decision`s (the recent page). `build_report`
turns them into the answer, so sorting, limits and paging cannot differ between backings.
Percentiles come from latency histograms, by `coordinator.usage.latency` for every backing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from coordinator.usage.sink import SinkName

BREAKDOWN_LIMIT = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

GroupLevel = Literal["target", "bucket", "door", "all"]
Dimension = Literal["reason", "door", "operation", "key_id", "target"]


def to_micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC, exactly (no float on the way); naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """Narrows every part of the report; None matches everything."""

    target: str | None = None
    door: str | None = None
    key_id: str | None = None
    outcome: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the previous page of `recent` ended: older rows come after it."""

    time: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """A validated request: the window is `[start, end)`, cut into `bucket_seconds` buckets."""

    start: datetime
    end: datetime
    bucket_seconds: int
    filter: UsageFilter = UsageFilter()
    page_size: int = 50
    before: Cursor | None = None
    recent_only: bool = False


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One group of requests. `bucket` (its start in microseconds since 1970) is None at level
    "all"; `key` is the target at level "target", the door at level "door", empty otherwise."""

    level: GroupLevel
    bucket: int | None
    key: str
    requests: int
    errors: int
    failovers: int
    cached: int
    latency_ms: tuple[float, float, float]  # p50, p95, p99


@dataclass(frozen=True, slots=True)
class CountRow:
    dimension: Dimension
    key: str
    detail: str  # the reason, for dimension "reason"
    count: int


@dataclass(frozen=True, slots=True)
class DecisionAttempt:
    target: str
    outcome: str
    latency_ms: float
    error: str


@dataclass(frozen=True, slots=True)
class Decision:
    """One recorded request, as the recent table shows it."""

    request_id: str
    time: datetime
    door: str
    method: str
    operation: str
    tool_or_method: str
    target: str
    rule: str
    reason: str
    confidence: float
    outcome: str
    status_code: str
    latency_ms: float
    cached: bool
    failover: bool
    attempts: tuple[DecisionAttempt, ...]
    key_id: str


@dataclass(frozen=True, slots=True)
class Counts:
    start_us: int  # microseconds since 1970: thousands of points are kept as plain integers
    target: str
    requests: int
    errors: int
    failovers: int
    cached: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float


@dataclass(frozen=True, slots=True)
class DoorCount:
    start_us: int
    door: str
    requests: int


@dataclass(frozen=True, slots=True)
class Breakdown:
    by_reason: tuple[tuple[str, str, int], ...] = ()  # (rule, reason, count)
    by_door: tuple[tuple[str, int], ...] = ()
    by_operation: tuple[tuple[str, int], ...] = ()
    by_key_id: tuple[tuple[str, int], ...] = ()
    by_target: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class UsageReport:
    source: SinkName
    query: UsageQuery
    summary: Counts | None
    series: tuple[Counts, ...]
    totals: tuple[Counts, ...]
    doors: tuple[DoorCount, ...]
    breakdown: Breakdown
    recent: tuple[Decision, ...]
    next_page: Cursor | None


class UsageReader(Protocol):
    """Answers Usage queries from one backing."""

    @property
    def source(self) -> SinkName: ...

    async def report(self, query: UsageQuery) -> UsageReport:
        """Raises `CoordinatorError` (UNAVAILABLE) when the backing cannot answer."""


def _counts(row: GroupRow, start_us: int, target: str) -> Counts:
    p50, p95, p99 = row.latency_ms
    return Counts(
        start_us=start_us,
        target=target,
        requests=row.requests,
        errors=row.errors,
        failovers=row.failovers,
        cached=row.cached,
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        latency_p99_ms=p99,
    )


def _top(pairs: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(pairs, key=lambda kv: (-kv[1], kv[0]))[:BREAKDOWN_LIMIT])


def build_report(
    source: SinkName,
    query: UsageQuery,
    groups: Iterable[GroupRow],
    counts: Iterable[CountRow],
    decisions: Sequence[Decision],
) -> UsageReport:
    """The answer from a backing's rows; `decisions` is newest first, up to page_size + 1."""
    series: list[Counts] = []
    totals: list[Counts] = []
    doors: list[DoorCount] = []
    window_start = to_micros(query.start)
    summary = None if query.recent_only else _counts(_EMPTY, window_start, "")
    for row in groups:
        if row.level == "all":
            if row.requests:
                summary = _counts(row, window_start, "")
            continue
        assert row.bucket is not None
        if row.level == "target":
            series.append(_counts(row, row.bucket, row.key))
        elif row.level == "bucket":
            totals.append(_counts(row, row.bucket, ""))
        else:
            doors.append(DoorCount(row.bucket, row.key, row.requests))
    series.sort(key=lambda c: (c.start_us, c.target))
    totals.sort(key=lambda c: c.start_us)
    doors.sort(key=lambda d: (d.start_us, d.door))

    by_dimension: dict[str, list[CountRow]] = {}
    for count in counts:
        by_dimension.setdefault(count.dimension, []).append(count)
    reasons = sorted(
        ((c.key, c.detail, c.count) for c in by_dimension.get("reason", ())),
        key=lambda r: (-r[2], r[0], r[1]),
    )

    def top(dimension: Dimension) -> tuple[tuple[str, int], ...]:
        return _top((c.key, c.count) for c in by_dimension.get(dimension, ()))

    breakdown = Breakdown(
        by_reason=tuple(reasons[:BREAKDOWN_LIMIT]),
        by_door=top("door"),
        by_operation=top("operation"),
        by_key_id=top("key_id"),
        by_target=top("target"),
    )

    page = tuple(decisions[: query.page_size])
    more = len(decisions) > query.page_size
    next_page = Cursor(page[-1].time, page[-1].request_id) if more and page else None
    return UsageReport(
        source=source,
        query=query,
        summary=summary,
        series=tuple(series),
        totals=tuple(totals),
        doors=tuple(doors),
        breakdown=breakdown,
        recent=page,
        next_page=next_page,
    )


_EMPTY = GroupRow("all", None, "", 0, 0, 0, 0, (0.0, 0.0, 0.0))
