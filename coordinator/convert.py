"""The one place that converts between generated messages and the service's types."""

from __future__ import annotations

import base64
import json
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, get_args

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator.calls import Door
from coordinator.errors import invalid_argument
from coordinator.operations import Operation
from coordinator.service import (
    AggregateCall,
    AggregateResult,
    Attempt,
    HealthInfo,
    RouteCall,
    RouteResult,
    StatusInfo,
)
from coordinator.structjson import walkers
from coordinator.usage import UsageStats
from coordinator.usage.events import MAX_LABEL_CHARS
from coordinator.usage.report import (
    Counts,
    Cursor,
    DecisionAttempt,
    UsageFilter,
    UsageQuery,
    UsageReport,
    from_micros,
    to_micros,
)


def _struct(message: pb.RouteRequest | pb.AggregateRequest, name: str) -> dict[str, Any] | None:
    if not message.HasField(name):
        return None
    return struct_to_dict(getattr(message, name))


def _keep_non_finite(number: float) -> float:
    return number  # a float, as the core's JSON holds it


# Struct to plain JSON values (several times faster than json_format), NaN and Infinity kept.
struct_to_dict, _ = walkers(_keep_non_finite)


def _operation(message: pb.RouteRequest | pb.AggregateRequest) -> Operation:
    return Operation.parse(
        query=message.query,
        context=_struct(message, "context"),
        tool=message.tool,
        arguments=_struct(message, "arguments"),
        method=message.method,
        params=_struct(message, "params"),
    )


def route_call(message: pb.RouteRequest) -> RouteCall:
    return RouteCall(
        operation=_operation(message),
        target=message.target,
        allow_failover=message.allow_failover,
        no_cache=message.no_cache,
    )


def aggregate_call(message: pb.AggregateRequest) -> AggregateCall:
    return AggregateCall(
        operation=_operation(message), targets=tuple(message.targets), no_cache=message.no_cache
    )


def _value(data: Any) -> struct_pb2.Value:
    """Plain JSON to Value; Struct.update is several times faster than json_format."""
    value = struct_pb2.Value()
    if isinstance(data, dict):
        value.struct_value.update(data)
    elif isinstance(data, list):
        value.list_value.extend(data)
    else:
        value.MergeFrom(json_format.ParseDict(data, struct_pb2.Value()))
    return value


class _CachedValues:
    """Converted `Value`s of cached answers, by the identity of the cached object.

    A cache hit returns the very object the cache holds (callers must not mutate
    it), so converting it once per entry instead of once per hit is safe. The
    memo holds a reference to the object, so an id is never reused while listed.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._values: OrderedDict[int, tuple[Any, struct_pb2.Value]] = OrderedDict()

    def get(self, data: Any) -> struct_pb2.Value:
        key = id(data)
        known = self._values.get(key)
        if known is not None and known[0] is data:
            self._values.move_to_end(key)
            return known[1]
        value = _value(data)
        self._values[key] = (data, value)
        if len(self._values) > self._size:
            self._values.popitem(last=False)
        return value


_CACHED_VALUES = _CachedValues()


def _attempts(attempts: Iterable[Attempt | DecisionAttempt]) -> list[pb.Attempt]:
    return [
        pb.Attempt(target=a.target, outcome=a.outcome, latency_ms=a.latency_ms, error=a.error)
        for a in attempts
    ]


def route_response(result: RouteResult) -> pb.RouteResponse:
    return pb.RouteResponse(
        data=_CACHED_VALUES.get(result.data) if result.cached else _value(result.data),
        routing=pb.RoutingDecision(
            target=result.target,
            reason=result.reason,
            confidence=result.confidence,
            rule=result.rule,
            failover=result.failover,
            cached=result.cached,
            stale=result.stale,
            attempts=_attempts(result.attempts),
        ),
    )


def aggregate_response(result: AggregateResult) -> pb.AggregateResponse:
    return pb.AggregateResponse(
        query=result.query,
        results={name: _value(data) for name, data in result.results.items()},
        errors={
            name: pb.TargetError(code=failure.code.name, message=failure.message)
            for name, failure in result.errors.items()
        },
        aggregation=pb.AggregationSummary(
            targets=list(result.targets),
            mode="parallel",
            succeeded=len(result.results),
            failed=len(result.errors),
            elapsed_ms=result.elapsed_ms,
        ),
    )


def health_response(info: HealthInfo) -> pb.HealthResponse:
    return pb.HealthResponse(status=info.status, version=info.version, targets=list(info.targets))


def status_response(info: StatusInfo) -> pb.StatusResponse:
    response = pb.StatusResponse(
        version=info.version,
        uptime_seconds=info.uptime_seconds,
        targets={
            name: pb.TargetStatus(
                transport=r.transport,
                healthy=r.healthy,
                health_reason=r.health_reason,
                circuit=r.circuit,
                requests=r.requests,
                errors=r.errors,
                failovers=r.failovers,
                in_flight=r.in_flight,
                latency_p50_ms=r.latency_p50_ms,
                latency_p95_ms=r.latency_p95_ms,
                latency_p99_ms=r.latency_p99_ms,
                last_error=r.last_error,
                protocol_version=r.protocol_version,
                tools=r.tools,
            )
            for name, r in info.targets.items()
        },
    )
    if info.cache is not None:
        cache = info.cache
        response.cache.CopyFrom(
            pb.CacheStatus(
                backend=cache.backend,
                hits=cache.hits,
                misses=cache.misses,
                coalesced=cache.coalesced,
                stale=cache.stale,
                errors=cache.errors,
                redis_state=cache.redis_state,
            )
        )
    return response


def add_observations(
    response: pb.StatusResponse,
    usage: UsageStats,
    requests: Mapping[tuple[str, str], int],
) -> None:
    """Adds the usage sink's state and the per-door request counts to Status."""
    response.usage.CopyFrom(
        pb.UsageStatus(
            sink=usage.sink,
            state=usage.state,
            queued=usage.queued,
            written=usage.written,
            dropped=usage.dropped,
            last_error=usage.last_error or "",
        )
    )
    for (door, method), count in requests.items():
        response.requests[f"{door}/{method}"] = count


MAX_WINDOW_SECONDS = 7 * 24 * 3600
MAX_BUCKETS = 2000
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
_DOORS: tuple[str, ...] = get_args(Door)
_OUTCOMES = ("ok", "error")


def usage_query(message: pb.UsageRequest, now: datetime) -> UsageQuery:
    """The request as a validated query whose window ends with the bucket holding `now`."""
    window = message.window_seconds or 3600
    if not 1 <= window <= MAX_WINDOW_SECONDS:
        raise invalid_argument("window_seconds", f"must be 1 to {MAX_WINDOW_SECONDS}, got {window}")
    bucket = message.bucket_seconds or max(1, window // 60)
    if not 1 <= bucket <= window:
        raise invalid_argument(
            "bucket_seconds", f"must be 1 to window_seconds ({window}), got {bucket}"
        )
    if math.ceil(window / bucket) > MAX_BUCKETS:
        raise invalid_argument(
            "bucket_seconds",
            f"{bucket} cuts {window} s into more than {MAX_BUCKETS} buckets; choose at least "
            f"{math.ceil(window / MAX_BUCKETS)}",
        )
    page_size = message.page_size or DEFAULT_PAGE_SIZE
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise invalid_argument("page_size", f"must be 1 to {MAX_PAGE_SIZE}, got {page_size}")
    if message.door and message.door not in _DOORS:
        raise invalid_argument("door", f"must be one of {', '.join(_DOORS)}, got {message.door!r}")
    if message.outcome and message.outcome not in _OUTCOMES:
        raise invalid_argument(
            "outcome", f"must be one of {', '.join(_OUTCOMES)}, got {message.outcome!r}"
        )
    for name in ("target", "key_id", "request_id"):
        if len(getattr(message, name)) > MAX_LABEL_CHARS:
            raise invalid_argument(name, f"longer than {MAX_LABEL_CHARS} characters")
    bucket_micros = bucket * 1_000_000
    end_micros = (to_micros(now) // bucket_micros + 1) * bucket_micros
    end = from_micros(end_micros)
    return UsageQuery(
        start=end - timedelta(seconds=window),
        end=end,
        bucket_seconds=bucket,
        filter=UsageFilter(
            target=message.target or None,
            door=message.door or None,
            key_id=message.key_id or None,
            outcome=message.outcome or None,
            request_id=message.request_id or None,
        ),
        page_size=page_size,
        before=_page_cursor(message.page_token) if message.page_token else None,
        recent_only=message.recent_only,
    )


def page_token(cursor: Cursor) -> str:
    text = json.dumps([to_micros(cursor.time), cursor.request_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _page_cursor(token: str) -> Cursor:
    try:
        micros, request_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(micros, int) or not isinstance(request_id, str):
            raise ValueError(token)
        return Cursor(from_micros(micros), request_id)
    except (ValueError, TypeError, OverflowError):
        raise invalid_argument("page_token", "not a next_page_token of an earlier answer") from None


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    _set_time(stamp, to_micros(moment))
    return stamp


def _set_time(stamp: timestamp_pb2.Timestamp, micros: int) -> None:
    seconds, remainder = divmod(micros, 1_000_000)
    stamp.seconds = seconds
    stamp.nanos = remainder * 1000


def _add_counts(point: pb.UsageCounts, counts: Counts) -> None:
    # Thousands of points per answer: fields set in place, no intermediate messages.
    _set_time(point.start_time, counts.start_us)
    point.target = counts.target
    point.requests = counts.requests
    point.errors = counts.errors
    point.failovers = counts.failovers
    point.cached = counts.cached
    point.latency_p50_ms = counts.latency_p50_ms
    point.latency_p95_ms = counts.latency_p95_ms
    point.latency_p99_ms = counts.latency_p99_ms


def _key_counts(pairs: tuple[tuple[str, int], ...]) -> list[pb.KeyCount]:
    return [pb.KeyCount(key=key, count=count) for key, count in pairs]


def usage_response(report: UsageReport) -> pb.UsageResponse:
    query = report.query
    breakdown = report.breakdown
    response = pb.UsageResponse(
        source=report.source,
        window_start=_timestamp(query.start),
        window_end=_timestamp(query.end),
        bucket_seconds=query.bucket_seconds,
        recent=[
            pb.UsageDecision(
                request_id=d.request_id,
                time=_timestamp(d.time),
                door=d.door,
                method=d.method,
                operation=d.operation,
                tool_or_method=d.tool_or_method,
                target=d.target,
                rule=d.rule,
                reason=d.reason,
                confidence=d.confidence,
                outcome=d.outcome,
                status_code=d.status_code,
                latency_ms=d.latency_ms,
                cached=d.cached,
                failover=d.failover,
                attempts=_attempts(d.attempts),
                key_id=d.key_id,
            )
            for d in report.recent
        ],
        next_page_token=page_token(report.next_page) if report.next_page else "",
    )
    for counts in report.series:
        _add_counts(response.series.add(), counts)
    for counts in report.totals:
        _add_counts(response.totals.add(), counts)
    for door in report.doors:
        point = response.doors.add()
        _set_time(point.start_time, door.start_us)
        point.door = door.door
        point.requests = door.requests
    if report.summary is not None:
        _add_counts(response.summary, report.summary)
        response.breakdown.CopyFrom(
            pb.UsageBreakdown(
                by_reason=[
                    pb.ReasonCount(rule=rule, reason=reason, count=count)
                    for rule, reason, count in breakdown.by_reason
                ],
                by_door=_key_counts(breakdown.by_door),
                by_operation=_key_counts(breakdown.by_operation),
                by_key_id=_key_counts(breakdown.by_key_id),
                by_target=_key_counts(breakdown.by_target),
            )
        )
    return response
