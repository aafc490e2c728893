"""OpenTelemetry traces: a server span per request on every door, a client span per attempt
on a target, and the W3C trace context passed on to the targets.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_TRACES_EXPORTER`) is set; the SDK then
reads `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_*`, `OTEL_BSP_*` and
friends as usual. Spans leave through a `BatchSpanProcessor`: a background thread exports
them, a request never waits for it, and spans dropped (queue full, export failed) are
counted in /metrics (`mcpc_trace_spans_dropped_total`). While off, every function here
returns at its first line.

The spans of one request:
- the door's SERVER span, opened before anything may refuse the request (so a 400, 404,
  413 or an undecodable gRPC message has its span too): `POST /route` on HTTP
  (`http.request.method`, `http.route`, `url.path`, `url.scheme`,
  `http.response.status_code`); `mcpcoordinator.v1.CoordinatorService/Route` on gRPC
  (`rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`); `tools/call <tool>`
  on MCP (`mcp.method.name`, `gen_ai.tool.name`, `jsonrpc.request.id`,
  `mcp.protocol.version`), and `initialize`, `ping`... there too. Its parent is the caller's
  `traceparent` / `tracestate` (HTTP header, gRPC metadata, MCP `params._meta`). The routing
  decision is recorded on it: `coordinator.target`, `.rule`, `.reason`, `.confidence`,
  `.cached`, `.failover`, `.outcome`, `.status_code`;
- one CLIENT span per attempt that calls a target or its cache (`tools/call <tool>`,
  `coordinator.target`, `coordinator.outcome`, `coordinator.cached`, `network.transport`,
  `server.address` / `server.port` for HTTP targets, `mcp.protocol.version` once agreed),
  a failover shows two, an Aggregate one per target. A target passed over without a call
  (unhealthy, circuit open, at its cap) has none: the answer's attempts say why. The span's
  context goes to the target as the `traceparent` HTTP header and in `params._meta` (MCP's
  convention for trace context), on stdio in `_meta`. A request the sampler leaves out
  makes no attempt spans: its own context goes on.

Never recorded: query text, tool arguments, API keys, a target's error text (a status
description is the error's kind). Failures set the span status and `error.type` (4xx
answers on HTTP, and gRPC codes caused by the caller, leave the server span's status
unset, as the semantic conventions say; a tool result with `isError` is `tool_error`).

Each door opens its span with `http_server_span`, `grpc_server_span` or `mcp_server_span`
and builds its `CallContext` inside the block, so the trace id reaches the usage row:

    with tracing.mcp_server_span(method, params.get("_meta"), tool=name, request_id=id) as span:
        ...  # call the handlers; the decision lands on this span
        span.failed(error)  # the CoordinatorError, before raising its JSON-RPC translation
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as PbStatus
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Span, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client.metrics_core import CounterMetricFamily, Metric

from coordinator import __version__
from coordinator.config import ConfigError
from coordinator.errors import ERROR_TABLE, CoordinatorError

if TYPE_CHECKING:
    from coordinator.operations import Operation
    from coordinator.service import Attempt, RequestTrace

log = logging.getLogger(__name__)

Exporter = Literal["otlp", "console"]

SERVICE_NAME: Final = "mcp-coordinator"
_SCOPE: Final = "coordinator"
# The gRPC codes that are the server's failure (semantic conventions, RPC server spans).
_GRPC_SERVER_ERRORS: Final = frozenset({2, 4, 12, 13, 14, 15})
_PROPAGATOR: Final = TraceContextTextMapPropagator()
_TRANSPORTS: Final = {"stdio": "pipe"}  # http and sse run over tcp


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """Tracing is on; where spans go. Everything else the SDK reads from OTEL_* itself.

    `endpoint` overrides OTEL_EXPORTER_OTLP_ENDPOINT (an http:// endpoint is plaintext).
    """

    exporter: Exporter = "otlp"
    endpoint: str | None = None

    @staticmethod
    def from_environment(environ: Mapping[str, str] = os.environ) -> TracingConfig | None:
        """None (off) unless OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
        or OTEL_TRACES_EXPORTER is set. Raises ConfigError naming the key it cannot use."""
        exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
        endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        )
        if exporter == "none" or environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
            return None
        if not exporter:
            if not endpoint:
                return None
            exporter = "otlp"
        if exporter not in ("otlp", "console"):
            raise ConfigError(
                f"OTEL_TRACES_EXPORTER: {exporter!r} is not supported; use otlp, console or none"
            )
        protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"
        )
        if exporter == "otlp" and protocol != "grpc":
            raise ConfigError(
                f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not supported; the coordinator"
                " exports OTLP over gRPC (grpc)"
            )
        return TracingConfig("otlp" if exporter == "otlp" else "console")


_Scalar = str | bool | int | float


class _SpanEncoder:
    """ReadableSpans to an OTLP request, like the SDK's `encode_spans` at about a third of its
    CPU (measured in bench/bench_tracing.py). Spans repeat from request to request (one name,
    kind, status and attribute set per route, target and outcome), so the encoded part they
    share is kept as a template, and a span is that template plus its ids and times; a span
    whose attributes were not seen yet is built from the encoded KeyValues kept for each
    attribute. A span with events, links or a non-scalar attribute is encoded by the SDK's
    own function. Spans are grouped by the identity of their resource and scope (hashing a
    `Resource` serialises its attributes to JSON)."""

    _KINDS: Final = {
        SpanKind.INTERNAL: PbSpan.SPAN_KIND_INTERNAL,
        SpanKind.SERVER: PbSpan.SPAN_KIND_SERVER,
        SpanKind.CLIENT: PbSpan.SPAN_KIND_CLIENT,
        SpanKind.PRODUCER: PbSpan.SPAN_KIND_PRODUCER,
        SpanKind.CONSUMER: PbSpan.SPAN_KIND_CONSUMER,
    }
    _SCALARS: Final = frozenset({str, bool, int, float})
    _MAX_KEPT: Final = 4096

    def __init__(self) -> None:
        self._attributes: dict[tuple[str, type, _Scalar], KeyValue] = {}
        self._templates: dict[tuple[Any, ...], PbSpan] = {}

    def __call__(self, spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
        groups: dict[tuple[int, int], list[ReadableSpan]] = {}
        for span in spans:
            key = (id(span.resource), id(span.instrumentation_scope))
            groups.setdefault(key, []).append(span)
        request = ExportTraceServiceRequest()
        for group in groups.values():
            # Resource and scope once per group, as the SDK encodes them.
            resource_spans = request.resource_spans.add()
            resource_spans.MergeFrom(encode_spans(group[:1]).resource_spans[0])
            scope_spans = resource_spans.scope_spans[0]
            del scope_spans.spans[:]
            add = scope_spans.spans.add
            for span in group:
                self._span(span, add())
        return request

    def _span(self, span: ReadableSpan, out: PbSpan) -> None:
        items = tuple(span.attributes.items()) if span.attributes else ()
        status = span.status
        key = (
            span.name,
            span.kind,
            status.status_code,
            status.description,
            items,
            tuple(map(type, map(itemgetter(1), items))),  # True == 1: the types tell apart
        )
        template = self._templates.get(key)
        if template is None:
            if span.events or span.links or not self._SCALARS.issuperset(key[5]):
                out.MergeFrom(encode_spans([span]).resource_spans[0].scope_spans[0].spans[0])
                return
            template = PbSpan(
                name=span.name,
                kind=self._KINDS[span.kind],
                attributes=[self._attribute(k, v) for k, v in items],  # type: ignore[arg-type]
                status=PbStatus(
                    code=status.status_code.value,  # type: ignore[arg-type]
                    message=status.description or "",
                ),
            )
            if len(self._templates) < self._MAX_KEPT:
                self._templates[key] = template
        elif span.events or span.links:
            out.MergeFrom(encode_spans([span]).resource_spans[0].scope_spans[0].spans[0])
            return
        out.MergeFrom(template)
        context = span.context
        assert context is not None
        parent = span.parent
        out.trace_id = context.trace_id.to_bytes(16, "big")
        out.span_id = context.span_id.to_bytes(8, "big")
        if context.trace_state:
            out.trace_state = context.trace_state.to_header()
        if parent is not None:
            out.parent_span_id = parent.span_id.to_bytes(8, "big")
        out.start_time_unix_nano = span.start_time or 0
        out.end_time_unix_nano = span.end_time or 0
        if span.dropped_attributes:
            out.dropped_attributes_count = span.dropped_attributes
        out.flags = 0x100 | (0x200 if parent is not None and parent.is_remote else 0)

    def _attribute(self, key: str, value: _Scalar) -> KeyValue:
        cache_key = (key, type(value), value)
        encoded = self._attributes.get(cache_key)
        if encoded is None:
            if isinstance(value, bool):
                any_value = AnyValue(bool_value=value)
            elif isinstance(value, int):
                any_value = AnyValue(int_value=value)
            elif isinstance(value, float):
                any_value = AnyValue(double_value=value)
            else:
                any_value = AnyValue(string_value=value)
            encoded = KeyValue(key=key, value=any_value)
            if len(self._attributes) < self._MAX_KEPT:
                self._attributes[cache_key] = encoded
        return encoded


class _LeanOtlpExporter(OTLPSpanExporter):
    """The SDK's OTLP/gRPC exporter (endpoint, TLS, headers, retries from OTEL_*), with the
    cheaper encoding above."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._encode = _SpanEncoder()

    def _translate_data(self, data: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
        return self._encode(data)


class _CountingExporter(SpanExporter):
    """The real exporter, counting the spans of batches it failed to deliver."""

    def __init__(self, inner: SpanExporter, counts: _Counts) -> None:
        self._inner = inner
        self._counts = counts

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._inner.export(spans)
        except Exception:
            log.warning("trace export failed", exc_info=True)
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self._counts.add(exported=len(spans))
        else:
            self._counts.add(dropped=len(spans))
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class _CountingBatchProcessor(BatchSpanProcessor):
    """Counts the spans the full queue pushes out (the SDK only logs them), and keeps the
    spans of attempts that made no call (`_unexported`) out of the export."""

    def __init__(self, exporter: SpanExporter, counts: _Counts, **options: Any) -> None:
        super().__init__(exporter, **options)
        self._counts = counts
        # The SDK's queue is private: tests/unit/test_tracing.py fails if it moves.
        queue = getattr(self._batch_processor, "_queue", None)
        self._queue: Any = queue
        self._capacity = getattr(queue, "maxlen", None)

    def on_end(self, span: ReadableSpan) -> None:
        if _unexported:
            context = span.context
            if context is not None and context.span_id in _unexported:
                _unexported.discard(context.span_id)
                return
        if self._queue is not None and len(self._queue) == self._capacity:
            self._counts.add(dropped=1)
        super().on_end(span)


# Span ids of ended attempt spans that are not to be exported (see `AttemptSpan`).
_unexported: set[int] = set()


class _Counts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exported = 0
        self.dropped = 0

    def add(self, *, exported: int = 0, dropped: int = 0) -> None:
        with self._lock:
            self.exported += exported
            self.dropped += dropped


class Tracing:
    """The open tracer provider; `collect()` reports its counters to Prometheus."""

    def __init__(self, config: TracingConfig) -> None:
        resource = Resource.create({"service.version": __version__})
        if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
            resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
        self.provider = TracerProvider(resource=resource)  # the sampler comes from OTEL_*
        self._counts = _Counts()
        exporter: SpanExporter
        if config.exporter == "console":
            exporter = ConsoleSpanExporter()
        else:
            endpoint = config.endpoint
            insecure = endpoint.startswith("http://") if endpoint else None
            exporter = _LeanOtlpExporter(endpoint=endpoint, insecure=insecure)
        self.provider.add_span_processor(
            _CountingBatchProcessor(_CountingExporter(exporter, self._counts), self._counts)
        )
        self.tracer = self.provider.get_tracer(_SCOPE, __version__)

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "mcpc_trace_spans_exported",
            "Spans delivered to the trace exporter's endpoint.",
            value=self._counts.exported,
        )
        yield CounterMetricFamily(
            "mcpc_trace_spans_dropped",
            "Spans dropped: the export queue was full or the export failed.",
            value=self._counts.dropped,
        )


_tracer: trace.Tracer | None = None  # set while a Tracing is open: the hot paths read it


@contextlib.asynccontextmanager
async def open_tracing(config: TracingConfig | None) -> AsyncIterator[Tracing | None]:
    """Turns tracing on for the process while open; on leaving, pending spans are exported
    (in a thread: the exporter may be talking to a receiver on this event loop)."""
    global _tracer
    if config is None:
        yield None
        return
    tracing = Tracing(config)
    _tracer = tracing.tracer
    try:
        yield tracing
    finally:
        if _tracer is tracing.tracer:
            _tracer = None
        await asyncio.to_thread(tracing.provider.shutdown)


# -- server spans (the doors) ----------------------------------------------------------


class ServerSpan:
    """A door's span, current while its block runs. `failed()` records an error answer
    (the first one recorded stays: the door may then raise its own translation of it).

    What is learnt while the request runs (the decision, the answer's status) is kept here
    and given to the SDK in one call when the block ends: each call into a span costs a
    lock and a pass over the values, so one call instead of three is measurably cheaper."""

    __slots__ = ("_door", "_failed", "_late", "_outer", "_span", "_status", "_token", "_trace_id")

    def __init__(self, span: Span, door: str) -> None:
        self._span = span
        self._door = door
        self._token: object = None
        self._outer: Any = None
        self._failed = False
        self._late: dict[str, Any] | None = {} if span.is_recording() else None
        self._status = ""  # the ERROR status's description, when the server failed
        self._trace_id: str | None = None

    def __enter__(self) -> ServerSpan:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        self._outer = _SERVER_SPAN.set(self)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        _SERVER_SPAN.reset(self._outer)
        otel_context.detach(self._token)  # type: ignore[arg-type]
        span = self._span
        late = self._late
        if late is None:  # not sampled: nothing is recorded
            span.end()
            return
        if exc is not None:
            self.failed(exc)
        elif self._failed:
            pass
        elif self._door == "http":
            late["http.response.status_code"] = 200
        elif self._door == "grpc":
            late["rpc.grpc.status_code"] = 0
        span.set_attributes(late)
        if self._status:
            span.set_status(StatusCode.ERROR, self._status)
        span.end()

    def trace_id(self) -> str:
        """The span's trace id (32 hex digits) when it is sampled, else ""."""
        if self._trace_id is None:
            context = self._span.get_span_context()
            sampled = context.trace_flags.sampled
            self._trace_id = format(context.trace_id, "032x") if sampled else ""
        return self._trace_id

    def failed(self, error: BaseException, *, http_status: int | None = None) -> None:
        """Records an error answer; `http_status` when the HTTP layer chose it (404, 405,
        413, 415). The status description is the error's code, never its message (a
        target's error text may repeat what the caller sent)."""
        if self._failed:
            return
        self._failed = True
        late = self._late
        if late is None:
            return
        if isinstance(error, CoordinatorError):
            status = ERROR_TABLE[error.code]
            late["error.type"] = error.code.name
            if self._door == "http":
                code = http_status or status.http_status
                late["http.response.status_code"] = code
                server_fault = code >= 500
            elif self._door == "grpc":
                code = status.grpc_status.value[0]
                late["rpc.grpc.status_code"] = code
                server_fault = code in _GRPC_SERVER_ERRORS
            else:  # the MCP door: a caller's mistake is no more the server's fault there
                server_fault = status.http_status >= 500
            if server_fault:
                self._status = error.code.name
        elif _cancelled(error):  # the caller went away or gave up: not the server's failure
            self.caller_left()
        else:
            late["error.type"] = self._status = type(error).__qualname__
            if self._door == "http":
                late["http.response.status_code"] = 500
            elif self._door == "grpc":
                late["rpc.grpc.status_code"] = 13

    def caller_left(self) -> None:
        """The caller went away or gave up: not the server's failure."""
        self._failed = True
        late = self._late
        if late is None:
            return
        late["error.type"] = "CANCELLED"
        if self._door == "http":
            late["http.response.status_code"] = 499
        elif self._door == "grpc":
            late["rpc.grpc.status_code"] = 1

    def refused(self, error_type: str) -> None:
        """An error answer caused by the caller (e.g. a JSON-RPC error code on the MCP
        door): `error.type` is recorded, the span's status stays unset."""
        if self._failed:
            return
        self._failed = True
        if self._late is not None:
            self._late["error.type"] = error_type

    def tool_error(self) -> None:
        """The tool answered with `isError`: `error.type` is `tool_error` (MCP semantic
        conventions) and the span's status ERROR."""
        if self._failed:
            return
        self._failed = True
        if self._late is not None:
            self._late["error.type"] = self._status = "tool_error"


class _NoSpan:
    """What the span functions give while tracing is off (or the request is not sampled,
    for attempts)."""

    __slots__ = ()

    def __enter__(self) -> _NoSpan:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def failed(self, error: BaseException, *, http_status: int | None = None) -> None:
        return None

    def caller_left(self) -> None:
        return None

    def refused(self, error_type: str) -> None:
        return None

    def tool_error(self) -> None:
        return None

    def finished(self, attempt: Attempt) -> None:
        return None


_NO_SPAN: Final = _NoSpan()
# The door's span of the request this task serves, for `record_decision`.
_SERVER_SPAN: Final[ContextVar[ServerSpan | None]] = ContextVar("server_span", default=None)


def _cancelled(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError)


def _parent(carrier: Mapping[str, Any] | None) -> otel_context.Context | None:
    if not carrier or "traceparent" not in carrier:
        return None
    return _PROPAGATOR.extract(carrier)


def http_server_span(
    method: str, route: str | None, path: str, scheme: str, headers: Mapping[str, str]
) -> ServerSpan | _NoSpan:
    """The REST door's span for one request: `route` the matched route's template (None
    when no route matched), `scheme` the ASGI scope's ("https" behind TLS), `headers` the
    request's (lower-case names), whose `traceparent` / `tracestate` make the parent. Open
    it before anything may refuse the request, so refusals have their span too."""
    tracer = _tracer
    if tracer is None:
        return _NO_SPAN
    attributes = {"http.request.method": method, "url.path": path, "url.scheme": scheme}
    if route is not None:
        attributes["http.route"] = route
    name = f"{method} {route}" if route is not None else method
    span = tracer.start_span(name, _parent(headers), kind=SpanKind.SERVER, attributes=attributes)
    return ServerSpan(span, "http")


def grpc_server_span(
    full_method: str, metadata: Iterable[tuple[str, str | bytes]] | None
) -> ServerSpan | _NoSpan:
    """The gRPC door's span for one call (`full_method`: "/package.Service/Method"),
    `metadata` the call's invocation metadata, as received (before it is checked, so a call
    refused for its metadata or message has its span too)."""
    tracer = _tracer
    if tracer is None:
        return _NO_SPAN
    carrier: dict[str, Any] = {}
    for key, value in metadata or ():
        if key == "traceparent" or key == "tracestate":
            carrier[key] = value
    service, _, method = full_method.lstrip("/").rpartition("/")
    span = tracer.start_span(
        f"{service}/{method}",
        _parent(carrier),
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": method},
    )
    return ServerSpan(span, "grpc")


def mcp_server_span(
    method: str,
    meta: Mapping[str, Any] | None,
    *,
    tool: str | None = None,
    request_id: str | int | None = None,
    protocol_version: str | None = None,
    transport: str = "tcp",
) -> ServerSpan | _NoSpan:
    """The MCP door's span for one JSON-RPC request: `method` is its MCP method
    ("tools/call"), `meta` its `params._meta` (whose `traceparent` / `tracestate` make the
    parent), `tool` the tool a tools/call names, `request_id` the JSON-RPC id, `transport`
    "tcp" for /mcp and "pipe" for stdio. Use it as a context manager."""
    tracer = _tracer
    if tracer is None:
        return _NO_SPAN
    attributes: dict[str, Any] = {"mcp.method.name": method, "network.transport": transport}
    if request_id is not None:
        attributes["jsonrpc.request.id"] = str(request_id)
    if protocol_version:
        attributes["mcp.protocol.version"] = protocol_version
    if method == "tools/call" and tool:
        attributes["gen_ai.operation.name"] = "execute_tool"
        attributes["gen_ai.tool.name"] = tool
    name = f"{method} {tool}" if tool else method
    span = tracer.start_span(name, _parent(meta), kind=SpanKind.SERVER, attributes=attributes)
    return ServerSpan(span, "mcp")


# -- what the core adds -------------------------------------------------------------


def record_decision(trace_: RequestTrace | None, status_code: str) -> None:
    """The routing decision, on the door's (server) span."""
    if _tracer is None:
        return
    server = _SERVER_SPAN.get()
    if server is None or server._late is None:
        return
    if trace_ is None:
        server._late["coordinator.outcome"] = "ok" if status_code == "OK" else "error"
        server._late["coordinator.status_code"] = status_code
        return
    server._late.update(
        {
            "coordinator.outcome": "ok" if status_code == "OK" else "error",
            "coordinator.status_code": status_code,
            "coordinator.target": trace_.target,
            "coordinator.rule": trace_.rule,
            "coordinator.reason": trace_.reason,
            "coordinator.confidence": trace_.confidence,
            "coordinator.cached": trace_.cached,
            "coordinator.failover": trace_.failover,
        }
    )


def current_trace_id() -> str:
    """The current trace's id (32 hex digits) when it is sampled, else ""."""
    if _tracer is None:
        return ""
    server = _SERVER_SPAN.get()
    if server is not None:  # one request asks several times (answer, usage row, exemplar)
        return server.trace_id()
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.trace_flags.sampled else ""


# Outcomes of an attempt that made no call: it gets no span (as a target the health probe
# rules out gets none); the answer's and the usage row's attempts say why.
_NOT_CALLED: Final = frozenset({"skipped", "overloaded"})


class AttemptSpan:
    """The CLIENT span of one attempt on a target; `finished(attempt)` records how it went
    (an exception leaving the block without it is recorded as the failure)."""

    __slots__ = ("_attempt", "_span", "_target", "_token")

    def __init__(self, span: Span, target: str) -> None:
        self._span = span
        self._target = target
        self._token: object = None
        self._attempt: Attempt | None = None

    def __enter__(self) -> AttemptSpan:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        otel_context.detach(self._token)  # type: ignore[arg-type]
        span = self._span
        attempt = self._attempt
        status = error_type = ""
        if attempt is not None:
            outcome = attempt.outcome
            if outcome in _NOT_CALLED:
                if span.is_recording():  # else no processor sees it end
                    _unexported.add(span.get_span_context().span_id)
                span.end()
                return
            if outcome == "ok":  # what the span started with: nothing to add
                span.end()
                return
            late: dict[str, Any] = {
                "coordinator.outcome": outcome,
                "coordinator.cached": outcome == "cached",
            }
            if outcome != "cached":
                error_type = "tool_error" if outcome == "error_result" else outcome
                late["error.type"] = error_type
                status = f"{self._target}: {error_type}"
        elif exc is not None:
            if isinstance(exc, CoordinatorError):  # the target answered with an MCP error
                error_type = exc.code.name
                late = {"coordinator.outcome": "mcp_error", "error.type": error_type}
            else:  # cancelled, or a failure of our own: the call may have run
                error_type = type(exc).__qualname__
                late = {"coordinator.outcome": "unknown", "error.type": error_type}
            status = f"{self._target}: {error_type}"
        else:
            late = {"coordinator.outcome": "unknown"}
        span.set_attributes(late)
        if status:
            # The error's kind, never a target's own error text (it may repeat arguments).
            span.set_status(StatusCode.ERROR, status)
        span.end()

    def finished(self, attempt: Attempt) -> None:
        self._attempt = attempt


_http_servers: dict[str, tuple[str, int] | None] = {}  # target URL -> host and port


def _server_of(url: str) -> tuple[str, int] | None:
    found = _http_servers.get(url, False)
    if found is False:
        parsed = urlsplit(url)
        try:
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
        except ValueError:
            port = 0
        found = (parsed.hostname, port) if parsed.hostname and port else None
        if len(_http_servers) < 1024:
            _http_servers[url] = found
    return found  # type: ignore[return-value]


def attempt_span(
    target: str,
    transport: str,
    operation: Operation,
    query_tool: str,
    *,
    url: str | None = None,
    protocol_version: str | None = None,
) -> AttemptSpan | _NoSpan:
    """The span of one attempt on `target`, current while its block runs; `url` an HTTP
    target's (for `server.address` / `server.port`), `protocol_version` the MCP revision
    agreed with the target, when known."""
    tracer = _tracer
    if tracer is None:
        return _NO_SPAN
    parent = trace.get_current_span().get_span_context()
    if parent.is_valid and not parent.trace_flags.sampled:
        # The request is not sampled, so neither would its children be (every standard
        # sampler decides alike for one trace): the request's context goes on as it is.
        return _NO_SPAN
    if operation.kind == "method":
        method, tool = operation.method, operation.called_tool
    else:
        method, tool = "tools/call", operation.tool if operation.kind == "tool" else query_tool
    attributes: dict[str, Any] = {
        "mcp.method.name": method,
        "coordinator.target": target,
        "network.transport": _TRANSPORTS.get(transport, "tcp"),
        # The usual outcome, set now: an attempt that ends so adds nothing when it ends (each
        # call into a span costs a lock and a pass over the values); any other replaces it.
        "coordinator.outcome": "ok",
        "coordinator.cached": False,
    }
    if method == "tools/call" and tool:
        attributes["gen_ai.operation.name"] = "execute_tool"
        attributes["gen_ai.tool.name"] = tool
    if protocol_version:
        attributes["mcp.protocol.version"] = protocol_version
    if url:
        server = _server_of(url)
        if server is not None:
            attributes["server.address"], attributes["server.port"] = server
    name = f"{method} {tool}" if tool else method
    span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
    return AttemptSpan(span, target)


# -- passing the context on -----------------------------------------------------------

_last_carrier: list[Any] = [None, {}]  # the last span context passed on, and its headers


def _carrier() -> dict[str, str]:
    """`traceparent` (and `tracestate`) of the current span, as the W3C propagator writes
    them; one attempt asks twice (HTTP header and `_meta`), so the last one is kept."""
    context = trace.get_current_span().get_span_context()
    last = _last_carrier
    if last[0] is context:
        return dict(last[1])
    if not context.is_valid:
        return {}
    carrier = {
        "traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-"
        f"{context.trace_flags:02x}"
    }
    if context.trace_state:
        carrier["tracestate"] = context.trace_state.to_header()
    last[0], last[1] = context, carrier
    return dict(carrier)


def inject_meta(params: MutableMapping[str, Any]) -> None:
    """Adds `traceparent` / `tracestate` to `params["_meta"]` (a new dict: the caller's
    own keys are kept, its object is not changed)."""
    if _tracer is None:
        return
    carrier = _carrier()
    if carrier:
        meta = params.get("_meta")
        params["_meta"] = {**meta, **carrier} if isinstance(meta, Mapping) else carrier


def inject_headers(headers: MutableMapping[str, str]) -> None:
    """Adds the `traceparent` / `tracestate` HTTP headers of the current span."""
    if _tracer is None:
        return
    headers.update(_carrier())
