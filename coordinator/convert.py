"""The one place that converts between generated messages and the service's types."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator.operations import Operation
from coordinator.service import (
    AggregateCall,
    AggregateResult,
    HealthInfo,
    RouteCall,
    RouteResult,
    StatusInfo,
)
from coordinator.usage import UsageStats


def _struct(message: pb.RouteRequest | pb.AggregateRequest, name: str) -> dict[str, Any] | None:
    if not message.HasField(name):
        return None
    return struct_to_dict(getattr(message, name))


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Struct to plain JSON values (several times faster than json_format)."""
    return {key: _plain(value) for key, value in struct.fields.items()}


def _plain(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


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
            attempts=[
                pb.Attempt(
                    target=a.target, outcome=a.outcome, latency_ms=a.latency_ms, error=a.error
                )
                for a in result.attempts
            ],
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
