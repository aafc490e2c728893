"""Tracing's configuration from OTEL_* variables, and the MCP door's span from `_meta`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import pytest

from coordinator import tracing
from coordinator.config import ConfigError
from coordinator.tracing import TracingConfig, open_tracing
from tests.support.otlp_collector import OtlpCollector

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"OTEL_SERVICE_NAME": "x"}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, TracingConfig("otlp")),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4317"}, TracingConfig("otlp")),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, TracingConfig("otlp")),
        ({"OTEL_TRACES_EXPORTER": "console"}, TracingConfig("console")),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, None),
    ],
)
def test_tracing_is_off_unless_an_exporter_is_configured(
    environ: dict[str, str], expected: TracingConfig | None
) -> None:
    assert TracingConfig.from_environment(environ) == expected


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
    ],
)
def test_an_unusable_value_names_its_key(environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        TracingConfig.from_environment(environ)


@pytest.fixture
def collector() -> Iterator[OtlpCollector]:
    receiver = OtlpCollector().start()
    try:
        yield receiver
    finally:
        receiver.stop()


async def test_the_mcp_doors_span_continues_the_trace_in_meta(collector: OtlpCollector) -> None:
    meta = {"traceparent": f"00-{TRACE}-{PARENT}-01", "progressToken": 7}
    async with open_tracing(TracingConfig(endpoint=collector.endpoint)) as opened:
        assert opened is not None
        with tracing.mcp_server_span("tools/call", meta, tool="route", request_id=3):
            inside = tracing.current_trace_id()
            sent: dict[str, object] = {"_meta": {"progressToken": 7}}
            tracing.inject_meta(sent)
        await asyncio.to_thread(opened.provider.force_flush)
    assert tracing.current_trace_id() == ""  # closed: off again
    assert inside == TRACE

    spans = await asyncio.to_thread(collector.wait_for, lambda got: len(got) >= 1)
    (span,) = spans
    assert (span.kind, span.name, span.parent_span_id) == ("server", "tools/call route", PARENT)
    assert span.attributes == {
        "mcp.method.name": "tools/call",
        "network.transport": "tcp",
        "jsonrpc.request.id": "3",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "route",
    }
    assert sent["_meta"] == {"progressToken": 7, "traceparent": f"00-{TRACE}-{span.span_id}-01"}


def test_while_off_the_span_functions_do_nothing() -> None:
    with tracing.mcp_server_span("tools/call", {"traceparent": f"00-{TRACE}-{PARENT}-01"}):
        assert tracing.current_trace_id() == ""
        params: dict[str, object] = {}
        tracing.inject_meta(params)
        headers: dict[str, str] = {}
        tracing.inject_headers(headers)
    assert (params, headers) == ({}, {})


def test_the_lean_encoding_equals_the_sdks() -> None:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.trace import SpanKind, StatusCode
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from coordinator.tracing import _SpanEncoder

    class Keep(SpanExporter):
        def __init__(self) -> None:
            self.spans: list[ReadableSpan] = []

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            self.spans.extend(spans)
            return SpanExportResult.SUCCESS

    kept = Keep()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(kept))
    tracer = provider.get_tracer("test")
    parent = TraceContextTextMapPropagator().extract(
        {"traceparent": f"00-{TRACE}-{PARENT}-01", "tracestate": "a=1,b=2"}
    )
    for round_ in range(2):  # the second round encodes from the kept attributes
        server = tracer.start_span(
            "POST /route", parent, kind=SpanKind.SERVER, attributes={"http.route": "/route"}
        )
        server.set_attributes({"coordinator.confidence": 0.9, "coordinator.cached": False})
        server.set_attribute("http.response.status_code", 503)
        server.set_status(StatusCode.ERROR, "unavailable")
        server.end()
        failed = tracer.start_span("tools/call query", kind=SpanKind.CLIENT)
        failed.record_exception(ValueError("boom"))  # an event: the SDK's own encoding
        failed.set_attribute("tags", ("a", "b"))
        failed.end()
        tracer.start_span(f"plain {round_}").end()
    provider.shutdown()

    assert _SpanEncoder()(kept.spans) == encode_spans(kept.spans)


async def test_an_unsampled_request_sends_its_context_on_unsampled(
    collector: OtlpCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coordinator.operations import Operation

    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
    unsampled = f"00-{TRACE}-{PARENT}-00"
    async with open_tracing(TracingConfig(endpoint=collector.endpoint)) as opened:
        assert opened is not None
        with (
            tracing.mcp_server_span("tools/call", {"traceparent": unsampled}, tool="route"),
            tracing.attempt_span("odoo_prod", "http", Operation("query", query="q"), "ask"),
        ):
            headers: dict[str, str] = {}
            tracing.inject_headers(headers)
            trace_id = tracing.current_trace_id()
        await asyncio.to_thread(opened.provider.force_flush)
    assert headers["traceparent"].startswith(f"00-{TRACE}-")
    assert headers["traceparent"].endswith("-00")
    assert trace_id == ""  # not sampled: nothing to look up
    assert collector.spans() == []


async def test_server_spans_say_whose_failure_it_was(collector: OtlpCollector) -> None:
    from coordinator.errors import CoordinatorError, ErrorCode

    cases: list[tuple[str, BaseException, int | None]] = [
        ("grpc", CoordinatorError(ErrorCode.INVALID_ARGUMENT, "bad"), None),
        ("grpc", CoordinatorError(ErrorCode.UNAVAILABLE, "down"), None),
        ("http", RuntimeError("bug"), None),
        ("http", asyncio.CancelledError(), None),
        ("http", CoordinatorError(ErrorCode.NOT_FOUND, "no route for /nope"), 404),
    ]
    async with open_tracing(TracingConfig(endpoint=collector.endpoint)) as opened:
        assert opened is not None

        def door_call(door: str, error: BaseException, http_status: int | None) -> None:
            span = (
                tracing.grpc_server_span("/pkg.Service/Route", ())
                if door == "grpc"
                else tracing.http_server_span("POST", "/route", "/route", "https", {})
            )
            with span:
                if http_status is not None:  # the HTTP layer chose the status
                    span.failed(error, http_status=http_status)
                raise error

        for door, error, http_status in cases:
            with pytest.raises(type(error)):
                door_call(door, error, http_status)

        # The MCP door records the core's error, then raises its JSON-RPC translation.
        def mcp_door_call(error: CoordinatorError) -> None:
            with tracing.mcp_server_span("tools/call", None, tool="route") as span:
                span.failed(error)
                raise LookupError("the JSON-RPC error")

        for error in (
            CoordinatorError(ErrorCode.UNAVAILABLE, "down"),
            CoordinatorError(ErrorCode.INVALID_ARGUMENT, "bad"),
        ):
            with pytest.raises(LookupError):
                mcp_door_call(error)
        with tracing.mcp_server_span("tools/call", None, tool="route") as span:
            span.tool_error()  # the tool's result had isError
        await asyncio.to_thread(opened.provider.force_flush)

    spans = await asyncio.to_thread(collector.wait_for, lambda got: len(got) >= 8)
    seen = [
        (
            s.status,
            s.attributes["error.type"],
            s.attributes.get(
                "rpc.grpc.status_code", s.attributes.get("http.response.status_code", "-")
            ),
        )
        for s in spans
    ]
    assert seen == [
        ("unset", "INVALID_ARGUMENT", 3),  # the caller's mistake
        ("error", "UNAVAILABLE", 14),
        ("error", "RuntimeError", 500),
        ("unset", "CANCELLED", 499),  # the caller went away
        ("unset", "NOT_FOUND", 404),
        ("error", "UNAVAILABLE", "-"),
        ("unset", "INVALID_ARGUMENT", "-"),  # the host's mistake, on the MCP door too
        ("error", "tool_error", "-"),  # MCP's semantic conventions
    ]
    assert spans[2].attributes["url.scheme"] == "https"


async def test_a_status_description_never_carries_a_targets_error_text(
    collector: OtlpCollector,
) -> None:
    from coordinator.errors import CoordinatorError, ErrorCode
    from coordinator.operations import Operation
    from coordinator.service import Attempt

    secret = "arguments: {'salary': 'secret-42'}"
    operation = Operation("tool", tool="get_record")

    def failing_attempt() -> None:
        with tracing.attempt_span("odoo_lab", "stdio", operation, "ask"):
            raise CoordinatorError(ErrorCode.INVALID_ARGUMENT, f"odoo_lab refused {secret}")

    def failing_request() -> None:
        with tracing.http_server_span("POST", "/route", "/route", "http", {}):
            with tracing.attempt_span("odoo_prod", "http", operation, "ask") as failed:
                failed.finished(Attempt("odoo_prod", "unavailable", 3.0, f"HTTP 502: {secret}"))
            with pytest.raises(CoordinatorError):
                failing_attempt()
            raise CoordinatorError(ErrorCode.UNAVAILABLE, f"no target could answer ({secret})")

    async with open_tracing(TracingConfig(endpoint=collector.endpoint)) as opened:
        assert opened is not None
        with pytest.raises(CoordinatorError):
            failing_request()
        await asyncio.to_thread(opened.provider.force_flush)

    spans = await asyncio.to_thread(collector.wait_for, lambda got: len(got) >= 3)
    assert [(s.name, s.status, s.status_message) for s in spans] == [
        ("tools/call get_record", "error", "odoo_prod: unavailable"),
        ("tools/call get_record", "error", "odoo_lab: INVALID_ARGUMENT"),
        ("POST /route", "error", "UNAVAILABLE"),
    ]
    assert all("secret" not in str(s) for s in spans)


async def test_a_target_not_called_gets_no_span_and_a_called_one_its_server(
    collector: OtlpCollector,
) -> None:
    from coordinator.operations import Operation
    from coordinator.service import Attempt

    operation = Operation("tool", tool="get_record")
    async with open_tracing(TracingConfig(endpoint=collector.endpoint)) as opened:
        assert opened is not None
        with tracing.mcp_server_span("tools/call", None, tool="get_record", request_id="r-1"):
            for name, outcome, error in (
                ("odoo_prod", "skipped", "circuit open"),
                ("odoo_stage", "overloaded", "4 calls already in flight"),
                ("odoo_lab", "error_result", ""),
            ):
                with tracing.attempt_span(
                    name,
                    "http",
                    operation,
                    "ask",
                    url=f"https://{name}.example:8443/mcp",
                    protocol_version="2025-11-25",
                ) as span:
                    span.finished(Attempt(name, outcome, 0.0, error))  # type: ignore[arg-type]
        await asyncio.to_thread(opened.provider.force_flush)

    spans = await asyncio.to_thread(collector.wait_for, lambda got: len(got) >= 2)
    client, server = spans
    assert server.attributes["jsonrpc.request.id"] == "r-1"
    assert (client.attributes["coordinator.target"], client.status) == ("odoo_lab", "error")
    assert {
        k: client.attributes[k]
        for k in ("error.type", "server.address", "server.port", "mcp.protocol.version")
    } == {
        "error.type": "tool_error",
        "server.address": "odoo_lab.example",
        "server.port": 8443,
        "mcp.protocol.version": "2025-11-25",
    }
    assert collector.spans() == spans  # none for the two targets that were not called
    assert not tracing._unexported  # nothing kept once they ended


def test_the_context_passed_on_is_what_the_w3c_propagator_writes() -> None:
    from opentelemetry import context as otel_context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    propagator = TraceContextTextMapPropagator()
    for header in ({}, {"tracestate": "caller=1,other=x"}):
        parent = propagator.extract({"traceparent": f"00-{TRACE}-{PARENT}-01", **header})
        token = otel_context.attach(parent)
        try:
            expected: dict[str, str] = {}
            propagator.inject(expected)
            assert tracing._carrier() == expected
            assert tracing._carrier() == expected  # the kept one
        finally:
            otel_context.detach(token)


def test_spans_a_full_export_queue_pushes_out_are_counted() -> None:
    """The count reads the SDK's private queue: if a release moves it, this fails."""
    import threading

    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    exporting, release = threading.Event(), threading.Event()

    class Blocking(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            exporting.set()
            release.wait(10)
            return SpanExportResult.SUCCESS

    counts = tracing._Counts()
    processor = tracing._CountingBatchProcessor(
        tracing._CountingExporter(Blocking(), counts),
        counts,
        max_queue_size=1,
        max_export_batch_size=1,
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    try:
        tracer.start_span("exported first").end()
        assert exporting.wait(10)  # the exporter holds it; the queue is empty again
        for n in range(4):  # one waits in the queue of one, three are pushed out
            tracer.start_span(f"then {n}").end()
        assert counts.dropped == 3
    finally:
        release.set()
        provider.shutdown()
    assert (counts.exported, counts.dropped) == (2, 3)
