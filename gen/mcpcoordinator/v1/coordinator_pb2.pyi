from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
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
    __slots__ = ("target", "reason", "confidence", "rule", "failover", "cached", "attempts", "stale")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    FAILOVER_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    target: str
    reason: str
    confidence: float
    rule: str
    failover: bool
    cached: bool
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    stale: bool
    def __init__(self, target: _Optional[str] = ..., reason: _Optional[str] = ..., confidence: _Optional[float] = ..., rule: _Optional[str] = ..., failover: _Optional[bool] = ..., cached: _Optional[bool] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., stale: _Optional[bool] = ...) -> None: ...

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
    __slots__ = ("targets", "mode", "succeeded", "failed", "elapsed_ms")
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedScalarFieldContainer[str]
    mode: str
    succeeded: int
    failed: int
    elapsed_ms: float
    def __init__(self, targets: _Optional[_Iterable[str]] = ..., mode: _Optional[str] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ..., elapsed_ms: _Optional[float] = ...) -> None: ...

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
