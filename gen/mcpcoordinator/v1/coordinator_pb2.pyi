import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RouteRequest(_message.Message):
    __slots__ = ("query", "context", "target", "tool", "arguments", "method", "params", "allow_failover", "no_cache")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_FAILOVER_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    query: str
    context: _struct_pb2.Struct
    target: str
    tool: str
    arguments: _struct_pb2.Struct
    method: str
    params: _struct_pb2.Struct
    allow_failover: bool
    no_cache: bool
    def __init__(self, query: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., target: _Optional[str] = ..., tool: _Optional[str] = ..., arguments: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., method: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., allow_failover: _Optional[bool] = ..., no_cache: _Optional[bool] = ...) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ("data", "routing")
    DATA_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Value
    routing: RoutingDecision
    def __init__(self, data: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., routing: _Optional[_Union[RoutingDecision, _Mapping]] = ...) -> None: ...

class RoutingDecision(_message.Message):
    __slots__ = ("target", "reason", "confidence", "rule", "failover", "cached", "attempts", "stale", "trace_id")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    FAILOVER_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    target: str
    reason: str
    confidence: float
    rule: str
    failover: bool
    cached: bool
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    stale: bool
    trace_id: str
    def __init__(self, target: _Optional[str] = ..., reason: _Optional[str] = ..., confidence: _Optional[float] = ..., rule: _Optional[str] = ..., failover: _Optional[bool] = ..., cached: _Optional[bool] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., stale: _Optional[bool] = ..., trace_id: _Optional[str] = ...) -> None: ...

class Attempt(_message.Message):
    __slots__ = ("target", "outcome", "latency_ms", "error")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    target: str
    outcome: str
    latency_ms: float
    error: str
    def __init__(self, target: _Optional[str] = ..., outcome: _Optional[str] = ..., latency_ms: _Optional[float] = ..., error: _Optional[str] = ...) -> None: ...

class AggregateRequest(_message.Message):
    __slots__ = ("query", "context", "tool", "arguments", "method", "params", "targets", "no_cache")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    query: str
    context: _struct_pb2.Struct
    tool: str
    arguments: _struct_pb2.Struct
    method: str
    params: _struct_pb2.Struct
    targets: _containers.RepeatedScalarFieldContainer[str]
    no_cache: bool
    def __init__(self, query: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., tool: _Optional[str] = ..., arguments: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., method: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., targets: _Optional[_Iterable[str]] = ..., no_cache: _Optional[bool] = ...) -> None: ...

class AggregateResponse(_message.Message):
    __slots__ = ("query", "results", "errors", "aggregation")
    class ResultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    class ErrorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: TargetError
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[TargetError, _Mapping]] = ...) -> None: ...
    QUERY_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    query: str
    results: _containers.MessageMap[str, _struct_pb2.Value]
    errors: _containers.MessageMap[str, TargetError]
    aggregation: AggregationSummary
    def __init__(self, query: _Optional[str] = ..., results: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., errors: _Optional[_Mapping[str, TargetError]] = ..., aggregation: _Optional[_Union[AggregationSummary, _Mapping]] = ...) -> None: ...

class TargetError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class AggregationSummary(_message.Message):
    __slots__ = ("targets", "mode", "succeeded", "failed", "elapsed_ms", "trace_id")
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedScalarFieldContainer[str]
    mode: str
    succeeded: int
    failed: int
    elapsed_ms: float
    trace_id: str
    def __init__(self, targets: _Optional[_Iterable[str]] = ..., mode: _Optional[str] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ..., elapsed_ms: _Optional[float] = ..., trace_id: _Optional[str] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ("status", "version", "targets")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    status: str
    version: str
    targets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, status: _Optional[str] = ..., version: _Optional[str] = ..., targets: _Optional[_Iterable[str]] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("version", "uptime_seconds", "targets", "cache", "usage", "requests", "rate_limits")
    class TargetsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: TargetStatus
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[TargetStatus, _Mapping]] = ...) -> None: ...
    class RequestsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    version: str
    uptime_seconds: float
    targets: _containers.MessageMap[str, TargetStatus]
    cache: CacheStatus
    usage: UsageStatus
    requests: _containers.ScalarMap[str, int]
    rate_limits: RateLimitStatus
    def __init__(self, version: _Optional[str] = ..., uptime_seconds: _Optional[float] = ..., targets: _Optional[_Mapping[str, TargetStatus]] = ..., cache: _Optional[_Union[CacheStatus, _Mapping]] = ..., usage: _Optional[_Union[UsageStatus, _Mapping]] = ..., requests: _Optional[_Mapping[str, int]] = ..., rate_limits: _Optional[_Union[RateLimitStatus, _Mapping]] = ...) -> None: ...

class TargetStatus(_message.Message):
    __slots__ = ("transport", "healthy", "circuit", "requests", "errors", "failovers", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "last_error", "protocol_version", "tools", "in_flight", "health_reason")
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    FAILOVERS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    HEALTH_REASON_FIELD_NUMBER: _ClassVar[int]
    transport: str
    healthy: bool
    circuit: str
    requests: int
    errors: int
    failovers: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    last_error: str
    protocol_version: str
    tools: int
    in_flight: int
    health_reason: str
    def __init__(self, transport: _Optional[str] = ..., healthy: _Optional[bool] = ..., circuit: _Optional[str] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., failovers: _Optional[int] = ..., latency_p50_ms: _Optional[float] = ..., latency_p95_ms: _Optional[float] = ..., latency_p99_ms: _Optional[float] = ..., last_error: _Optional[str] = ..., protocol_version: _Optional[str] = ..., tools: _Optional[int] = ..., in_flight: _Optional[int] = ..., health_reason: _Optional[str] = ...) -> None: ...

class CacheStatus(_message.Message):
    __slots__ = ("backend", "hits", "misses", "coalesced", "stale", "errors", "redis_state")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    COALESCED_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    REDIS_STATE_FIELD_NUMBER: _ClassVar[int]
    backend: str
    hits: int
    misses: int
    coalesced: int
    stale: int
    errors: int
    redis_state: str
    def __init__(self, backend: _Optional[str] = ..., hits: _Optional[int] = ..., misses: _Optional[int] = ..., coalesced: _Optional[int] = ..., stale: _Optional[int] = ..., errors: _Optional[int] = ..., redis_state: _Optional[str] = ...) -> None: ...

class RateLimitStatus(_message.Message):
    __slots__ = ("backend", "redis_state", "replicas", "refused")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    REDIS_STATE_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    backend: str
    redis_state: str
    replicas: int
    refused: int
    def __init__(self, backend: _Optional[str] = ..., redis_state: _Optional[str] = ..., replicas: _Optional[int] = ..., refused: _Optional[int] = ...) -> None: ...

class UsageStatus(_message.Message):
    __slots__ = ("sink", "state", "queued", "written", "dropped", "last_error")
    SINK_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    sink: str
    state: str
    queued: int
    written: int
    dropped: int
    last_error: str
    def __init__(self, sink: _Optional[str] = ..., state: _Optional[str] = ..., queued: _Optional[int] = ..., written: _Optional[int] = ..., dropped: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...

class UsageRequest(_message.Message):
    __slots__ = ("window_seconds", "bucket_seconds", "target", "door", "key_id", "outcome", "request_id", "page_size", "page_token", "recent_only")
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DOOR_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RECENT_ONLY_FIELD_NUMBER: _ClassVar[int]
    window_seconds: int
    bucket_seconds: int
    target: str
    door: str
    key_id: str
    outcome: str
    request_id: str
    page_size: int
    page_token: str
    recent_only: bool
    def __init__(self, window_seconds: _Optional[int] = ..., bucket_seconds: _Optional[int] = ..., target: _Optional[str] = ..., door: _Optional[str] = ..., key_id: _Optional[str] = ..., outcome: _Optional[str] = ..., request_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., recent_only: _Optional[bool] = ...) -> None: ...

class UsageResponse(_message.Message):
    __slots__ = ("source", "window_start", "window_end", "bucket_seconds", "summary", "series", "totals", "doors", "breakdown", "recent", "next_page_token")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    BUCKET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    DOORS_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    RECENT_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    source: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    bucket_seconds: int
    summary: UsageCounts
    series: _containers.RepeatedCompositeFieldContainer[UsageCounts]
    totals: _containers.RepeatedCompositeFieldContainer[UsageCounts]
    doors: _containers.RepeatedCompositeFieldContainer[DoorCount]
    breakdown: UsageBreakdown
    recent: _containers.RepeatedCompositeFieldContainer[UsageDecision]
    next_page_token: str
    def __init__(self, source: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bucket_seconds: _Optional[int] = ..., summary: _Optional[_Union[UsageCounts, _Mapping]] = ..., series: _Optional[_Iterable[_Union[UsageCounts, _Mapping]]] = ..., totals: _Optional[_Iterable[_Union[UsageCounts, _Mapping]]] = ..., doors: _Optional[_Iterable[_Union[DoorCount, _Mapping]]] = ..., breakdown: _Optional[_Union[UsageBreakdown, _Mapping]] = ..., recent: _Optional[_Iterable[_Union[UsageDecision, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UsageCounts(_message.Message):
    __slots__ = ("start_time", "target", "requests", "errors", "failovers", "cached", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    FAILOVERS_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_MS_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    target: str
    requests: int
    errors: int
    failovers: int
    cached: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., target: _Optional[str] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., failovers: _Optional[int] = ..., cached: _Optional[int] = ..., latency_p50_ms: _Optional[float] = ..., latency_p95_ms: _Optional[float] = ..., latency_p99_ms: _Optional[float] = ...) -> None: ...

class DoorCount(_message.Message):
    __slots__ = ("start_time", "door", "requests")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    DOOR_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    door: str
    requests: int
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., door: _Optional[str] = ..., requests: _Optional[int] = ...) -> None: ...

class UsageBreakdown(_message.Message):
    __slots__ = ("by_reason", "by_door", "by_operation", "by_key_id", "by_target")
    BY_REASON_FIELD_NUMBER: _ClassVar[int]
    BY_DOOR_FIELD_NUMBER: _ClassVar[int]
    BY_OPERATION_FIELD_NUMBER: _ClassVar[int]
    BY_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    BY_TARGET_FIELD_NUMBER: _ClassVar[int]
    by_reason: _containers.RepeatedCompositeFieldContainer[ReasonCount]
    by_door: _containers.RepeatedCompositeFieldContainer[KeyCount]
    by_operation: _containers.RepeatedCompositeFieldContainer[KeyCount]
    by_key_id: _containers.RepeatedCompositeFieldContainer[KeyCount]
    by_target: _containers.RepeatedCompositeFieldContainer[KeyCount]
    def __init__(self, by_reason: _Optional[_Iterable[_Union[ReasonCount, _Mapping]]] = ..., by_door: _Optional[_Iterable[_Union[KeyCount, _Mapping]]] = ..., by_operation: _Optional[_Iterable[_Union[KeyCount, _Mapping]]] = ..., by_key_id: _Optional[_Iterable[_Union[KeyCount, _Mapping]]] = ..., by_target: _Optional[_Iterable[_Union[KeyCount, _Mapping]]] = ...) -> None: ...

class KeyCount(_message.Message):
    __slots__ = ("key", "count")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    key: str
    count: int
    def __init__(self, key: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class ReasonCount(_message.Message):
    __slots__ = ("rule", "reason", "count")
    RULE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    rule: str
    reason: str
    count: int
    def __init__(self, rule: _Optional[str] = ..., reason: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class UsageDecision(_message.Message):
    __slots__ = ("request_id", "time", "door", "method", "operation", "tool_or_method", "target", "rule", "reason", "confidence", "outcome", "status_code", "latency_ms", "cached", "failover", "attempts", "key_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DOOR_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    TOOL_OR_METHOD_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    FAILOVER_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    time: _timestamp_pb2.Timestamp
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
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    key_id: str
    def __init__(self, request_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., door: _Optional[str] = ..., method: _Optional[str] = ..., operation: _Optional[str] = ..., tool_or_method: _Optional[str] = ..., target: _Optional[str] = ..., rule: _Optional[str] = ..., reason: _Optional[str] = ..., confidence: _Optional[float] = ..., outcome: _Optional[str] = ..., status_code: _Optional[str] = ..., latency_ms: _Optional[float] = ..., cached: _Optional[bool] = ..., failover: _Optional[bool] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., key_id: _Optional[str] = ...) -> None: ...
