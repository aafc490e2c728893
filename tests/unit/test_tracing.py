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

    async def raising(error: BaseException) -> None:
        raise error

    cases: list[tuple[str, BaseException]] = [
        ("grpc", CoordinatorError(ErrorCode.INVALID_ARGUMENT, "bad")),
        ("grpc", CoordinatorError(ErrorCode.UNAVAILABLE, "down")),
        ("http", RuntimeError("bug")),
        ("http", asyncio.CancelledError()),
    ]
    async with open_tracing(TracingConfig(endpoint=collector.endpoint)) as opened:
        assert opened is not None
        for door, error in cases:
            call = raising(error)
            traced = (
                tracing.grpc_server_call(call, "/pkg.Service/Route", {})
                if door == "grpc"
                else tracing.http_server_call(call, "POST", "/route", "/route", {})
            )
            with pytest.raises(type(error)):
                await traced

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
        await asyncio.to_thread(opened.provider.force_flush)

    spans = await asyncio.to_thread(collector.wait_for, lambda got: len(got) >= 6)
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
        ("error", "UNAVAILABLE", "-"),
        ("unset", "INVALID_ARGUMENT", "-"),  # the host's mistake, on the MCP door too
    ]
