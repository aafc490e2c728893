"""Traces, end to end: a real coordinator exports OTLP/gRPC to a stand-in Collector (our own
receiver on opentelemetry-proto's service, tests/support/otlp_collector.py), real sample
targets over HTTP and stdio show the `traceparent` they were sent, and the trace id is
found in the answer, the usage row (PostgreSQL), the decision log line and /metrics."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import grpc
import httpx
import pytest
from google.protobuf import json_format
from mcpcoordinator.v1 import coordinator_pb2 as pb
from mcpcoordinator.v1 import coordinator_pb2_grpc as pb_grpc

from coordinator.app import Coordinator
from coordinator.config import Settings
from coordinator.tracing import TracingConfig
from coordinator.usage import apply_migrations
from tests.integration.conftest import API_KEY, AUTH, Running, settings_for
from tests.support.mcp_servers import SampleServer, stdio_target_config
from tests.support.otlp_collector import OtlpCollector, ReceivedSpan
from tests.support.usage_schema import SERVER_DSN, drop_schema, dsn_in, new_schema_name

SCHEMA = new_schema_name("tracing_it")
DATABASE_URL = dsn_in(SCHEMA)
HEADERS = {"X-API-Key": API_KEY}
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


@pytest.fixture(scope="module")
def usage_schema() -> Iterator[str]:
    """One schema for the module's tests (their rows are told apart by request id)."""
    asyncio.run(apply_migrations(SERVER_DSN, schema=SCHEMA))
    yield SCHEMA
    asyncio.run(drop_schema(SCHEMA))


@pytest.fixture
def collector() -> Iterator[OtlpCollector]:
    receiver = OtlpCollector().start()
    try:
        yield receiver
    finally:
        receiver.stop()


async def traced(settings: Settings, collector: OtlpCollector) -> AsyncIterator[Running]:
    tracing = TracingConfig(endpoint=collector.endpoint)
    async with (
        Coordinator(settings, tracing=tracing) as coordinator,
        grpc.aio.insecure_channel(f"127.0.0.1:{coordinator.grpc_port}") as channel,
    ):
        yield Running(coordinator, channel, pb_grpc.CoordinatorServiceStub(channel))


@pytest.fixture
async def pair(
    prod: SampleServer, shared_lab: SampleServer, collector: OtlpCollector, usage_schema: str
) -> AsyncIterator[Running]:
    """Traced, recording usage in PostgreSQL; odoo_prod is this test's own, free to kill."""
    settings = settings_for(
        prod.target_config(timeout=2.0), shared_lab.target_config(), database_url=DATABASE_URL
    )
    async for item in traced(settings, collector):
        yield item


async def spans_of(
    running: Running, collector: OtlpCollector, trace_id: str, count: int
) -> list[ReceivedSpan]:
    """The spans of `trace_id`, once `count` of them have arrived (exported now, not after
    the batch delay)."""
    tracing = running.coordinator.tracing
    assert tracing is not None
    await asyncio.to_thread(tracing.provider.force_flush)
    spans = await asyncio.to_thread(
        collector.wait_for, lambda got: sum(s.trace_id == trace_id for s in got) >= count
    )
    return [s for s in spans if s.trace_id == trace_id]


def one(spans: list[ReceivedSpan], kind: str, **attributes: Any) -> ReceivedSpan:
    found = [
        s
        for s in spans
        if s.kind == kind and all(s.attributes.get(k) == v for k, v in attributes.items())
    ]
    assert len(found) == 1, (kind, attributes, spans)
    return found[0]


def structured(data: Any) -> dict[str, Any]:
    content = data["structuredContent"]
    assert isinstance(content, dict)
    return content


async def usage_trace_id(request_id: str) -> str | None:
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        for _ in range(200):
            value = await connection.fetchval(
                "SELECT trace_id FROM usage_events WHERE request_id = $1", request_id
            )
            if value is not None:
                return str(value)
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    return None


@pytest.mark.slow
async def test_a_rest_call_joins_the_callers_trace_and_the_target_joins_it_too(
    pair: Running, prod: SampleServer, collector: OtlpCollector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="coordinator.decisions")
    request_id = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=pair.http_url, headers=HEADERS) as client:
        response = await client.post(
            "/route",
            json={"tool": "trace_context", "target": "odoo_prod", "no_cache": True},
            headers={
                "traceparent": TRACEPARENT,
                "tracestate": "caller=1",
                "X-Request-Id": request_id,
            },
        )
        metrics = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["routing"]["trace_id"] == CALLER_TRACE

    spans = await spans_of(pair, collector, CALLER_TRACE, 2)
    server = one(spans, "server")
    assert server.parent_span_id == CALLER_SPAN
    assert server.name == "POST /route"
    assert server.service_name == "mcp-coordinator"
    assert server.status == "unset"
    assert {
        k: server.attributes[k]
        for k in (
            "http.request.method",
            "http.route",
            "url.path",
            "url.scheme",
            "http.response.status_code",
            "coordinator.target",
            "coordinator.rule",
            "coordinator.outcome",
            "coordinator.cached",
            "coordinator.failover",
            "coordinator.confidence",
        )
    } == {
        "http.request.method": "POST",
        "http.route": "/route",
        "url.path": "/route",
        "url.scheme": "http",
        "http.response.status_code": 200,
        "coordinator.target": "odoo_prod",
        "coordinator.rule": "explicit",
        "coordinator.outcome": "ok",
        "coordinator.cached": False,
        "coordinator.failover": False,
        "coordinator.confidence": 1.0,
    }
    client_span = one(spans, "client")
    assert client_span.parent_span_id == server.span_id
    assert client_span.name == "tools/call trace_context"
    assert client_span.attributes == {
        "mcp.method.name": "tools/call",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "trace_context",
        "coordinator.target": "odoo_prod",
        "coordinator.outcome": "ok",
        "coordinator.cached": False,
        "network.transport": "tcp",
        "server.address": "127.0.0.1",
        "server.port": urlsplit(prod.url).port,
        "mcp.protocol.version": "2026-07-28",
    }
    # The target was called inside the client span: header and _meta name it as the parent.
    seen = structured(answer["data"])
    expected = f"00-{CALLER_TRACE}-{client_span.span_id}-01"
    assert seen["headers"] == {"traceparent": expected, "tracestate": "caller=1"}
    assert seen["meta"] == {"traceparent": expected, "tracestate": "caller=1"}
    # Never a key or an argument in a span.
    assert all(API_KEY not in str(v) for s in spans for v in s.attributes.values())

    assert await usage_trace_id(request_id) == CALLER_TRACE
    logged = next(
        r
        for r in caplog.records
        if r.name == "coordinator.decisions" and vars(r).get("request_id") == request_id
    )
    assert vars(logged)["trace_id"] == CALLER_TRACE
    assert metrics.headers["content-type"].startswith("application/openmetrics-text")
    exemplars = [
        line
        for line in metrics.text.splitlines()
        if line.startswith("mcpc_request_duration_seconds_bucket") and " # {" in line
    ]
    assert any(f'trace_id="{CALLER_TRACE}"' in line for line in exemplars), exemplars


@pytest.mark.slow
async def test_a_grpc_failover_shows_both_attempts_and_the_failure(
    pair: Running, prod: SampleServer, collector: OtlpCollector
) -> None:
    await pair.stub.Route(pb.RouteRequest(query="skills"), metadata=AUTH)  # session established
    await prod.kill()
    request_id = uuid.uuid4().hex
    response = await pair.stub.Route(
        pb.RouteRequest(query="List all skills", no_cache=True),
        metadata=(*AUTH, ("traceparent", TRACEPARENT), ("x-request-id", request_id)),
    )
    assert response.routing.failover
    assert response.routing.trace_id == CALLER_TRACE

    spans = await spans_of(pair, collector, CALLER_TRACE, 3)
    server = one(spans, "server")
    assert server.parent_span_id == CALLER_SPAN
    assert server.name == "mcpcoordinator.v1.CoordinatorService/Route"
    assert {k: v for k, v in server.attributes.items() if k.startswith("rpc.")} == {
        "rpc.system": "grpc",
        "rpc.service": "mcpcoordinator.v1.CoordinatorService",
        "rpc.method": "Route",
        "rpc.grpc.status_code": 0,
    }
    assert server.attributes["coordinator.failover"] is True
    assert server.attributes["coordinator.target"] == "odoo_lab"
    assert "List all skills" not in str(server.attributes)  # no query text
    failed = one(spans, "client", **{"coordinator.target": "odoo_prod"})
    answered = one(spans, "client", **{"coordinator.target": "odoo_lab"})
    assert failed.parent_span_id == answered.parent_span_id == server.span_id
    assert (failed.status, failed.attributes["coordinator.outcome"]) == ("error", "unavailable")
    assert failed.attributes["error.type"] == "unavailable"
    assert "odoo_prod" in failed.status_message
    assert (answered.status, answered.attributes["coordinator.outcome"]) == ("unset", "ok")
    assert await usage_trace_id(request_id) == CALLER_TRACE

    # A call pinned to the dead target fails: the error is on the server span (503 and
    # UNAVAILABLE are the server's failure); a caller's mistake (400) leaves the status unset.
    pinned_trace, bad_trace = uuid.uuid4().hex, uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=pair.http_url, headers=HEADERS) as client:
        pinned = await client.post(
            "/route",
            json={"query": "skills", "target": "odoo_prod", "no_cache": True},
            headers={"traceparent": f"00-{pinned_trace}-{CALLER_SPAN}-01"},
        )
        bad = await client.post(
            "/route",
            json={"query": "skills", "target": "nope"},
            headers={"traceparent": f"00-{bad_trace}-{CALLER_SPAN}-01"},
        )
    assert (pinned.status_code, bad.status_code) == (503, 400)
    pinned_server = one(await spans_of(pair, collector, pinned_trace, 1), "server")
    assert pinned_server.status == "error"
    assert pinned_server.attributes["http.response.status_code"] == 503
    assert pinned_server.attributes["error.type"] == "UNAVAILABLE"
    assert pinned_server.attributes["coordinator.outcome"] == "error"
    bad_server = one(await spans_of(pair, collector, bad_trace, 1), "server")
    assert bad_server.status == "unset"
    assert bad_server.attributes["http.response.status_code"] == 400
    assert bad_server.attributes["error.type"] == "INVALID_ARGUMENT"


@pytest.mark.slow
async def test_an_aggregate_has_one_child_per_target(
    pair: Running, collector: OtlpCollector
) -> None:
    request_id = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=pair.http_url, headers=HEADERS) as client:
        response = await client.post(
            "/aggregate",
            json={"query": "skills", "no_cache": True},
            headers={"X-Request-Id": request_id},
        )
    assert response.status_code == 200, response.text
    trace_id = await usage_trace_id(request_id)  # a new trace: the caller sent none
    assert trace_id is not None
    assert len(trace_id) == 32
    assert response.json()["aggregation"]["trace_id"] == trace_id

    spans = await spans_of(pair, collector, trace_id, 3)
    server = one(spans, "server")
    assert (server.name, server.parent_span_id) == ("POST /aggregate", "")
    assert server.attributes["coordinator.rule"] == "aggregate"
    children = [s for s in spans if s.kind == "client"]
    assert sorted(s.attributes["coordinator.target"] for s in children) == [
        "odoo_lab",
        "odoo_prod",
    ]
    assert all(s.parent_span_id == server.span_id for s in children)
    assert all(s.name == "tools/call query" for s in children)

    over_grpc = await pair.stub.Aggregate(
        pb.AggregateRequest(query="skills"), metadata=(*AUTH, ("traceparent", TRACEPARENT))
    )
    assert over_grpc.aggregation.trace_id == CALLER_TRACE


@pytest.mark.slow
async def test_a_stdio_target_gets_the_context_in_meta(collector: OtlpCollector) -> None:
    # A child that starts slowly on a loaded machine must not time out the first tools/list.
    settings = settings_for(stdio_target_config("odoo_lab", "lab", timeout=10.0))
    async for item in traced(settings, collector):
        response = await item.stub.Route(
            pb.RouteRequest(tool="trace_context", no_cache=True),
            metadata=(*AUTH, ("traceparent", TRACEPARENT)),
        )
        spans = await spans_of(item, collector, CALLER_TRACE, 2)
    client_span = one(spans, "client")
    assert client_span.attributes["network.transport"] == "pipe"
    seen = structured(json_format.MessageToDict(response.data))
    assert seen["headers"] == {}
    assert seen["meta"] == {"traceparent": f"00-{CALLER_TRACE}-{client_span.span_id}-01"}


async def test_spans_the_collector_refuses_are_counted_and_the_request_is_served(
    shared_prod: SampleServer,
) -> None:
    refusing = OtlpCollector(refuse=True).start()
    try:
        settings = settings_for(shared_prod.target_config())
        async for item in traced(settings, refusing):
            response = await item.stub.Route(pb.RouteRequest(query="skills"), metadata=AUTH)
            assert response.routing.target == "odoo_prod"
            tracing = item.coordinator.tracing
            assert tracing is not None
            await asyncio.to_thread(tracing.provider.force_flush)
            async with httpx.AsyncClient(base_url=item.http_url) as client:
                metrics = (await client.get("/metrics")).text
    finally:
        refusing.stop()
    counters = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in metrics.splitlines()
        if line.startswith("mcpc_trace_spans_")
    }
    assert counters["mcpc_trace_spans_dropped_total"] >= 2  # the server and the client span
    assert counters["mcpc_trace_spans_exported_total"] == 0


async def test_without_tracing_nothing_is_sent_on_and_no_trace_id_is_given(
    coordinator: Running,
) -> None:
    response = await coordinator.stub.Route(
        pb.RouteRequest(tool="trace_context", no_cache=True),
        metadata=(*AUTH, ("traceparent", TRACEPARENT)),
    )
    assert response.routing.trace_id == ""
    seen = structured(json_format.MessageToDict(response.data))
    assert (seen["headers"], seen["meta"]) == ({}, {})


@pytest.mark.slow
async def test_an_mcp_tool_call_joins_the_trace_in_its_meta(
    pair: Running, collector: OtlpCollector
) -> None:
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
        "traceparent": TRACEPARENT,
    }
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "list_skills", "arguments": {}, "_meta": meta},
    }
    headers = {
        **HEADERS,
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "list_skills",
    }
    async with httpx.AsyncClient(base_url=pair.http_url) as client:
        answer = await client.post("/mcp", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    spans = await spans_of(pair, collector, CALLER_TRACE, 2)
    server = one(spans, "server", **{"mcp.method.name": "tools/call"})
    assert server.parent_span_id == CALLER_SPAN
    assert server.attributes["gen_ai.tool.name"] == "list_skills"
    assert server.attributes["coordinator.target"] == "odoo_prod"
    assert server.attributes["jsonrpc.request.id"] == "7"
    assert server.attributes["mcp.protocol.version"] == "2026-07-28"
    attempt = one(spans, "client")
    assert attempt.parent_span_id == server.span_id
    assert attempt.attributes["server.address"] == "127.0.0.1"
    assert isinstance(attempt.attributes["server.port"], int)


@pytest.mark.slow
async def test_requests_refused_before_any_work_have_their_span_too(
    pair: Running, collector: OtlpCollector
) -> None:
    """Malformed JSON (400) and an unknown path (404) on REST, an undecodable gRPC message,
    and an MCP initialize each get a server span with their status."""
    traces = {name: uuid.uuid4().hex for name in ("json", "path", "grpc", "initialize")}

    def parent(name: str) -> str:
        return f"00-{traces[name]}-{CALLER_SPAN}-01"

    async with httpx.AsyncClient(base_url=pair.http_url, headers=HEADERS) as client:
        malformed = await client.post(
            "/route",
            content=b'{"query": ',
            headers={"Content-Type": "application/json", "traceparent": parent("json")},
        )
        unknown = await client.get("/nope", headers={"traceparent": parent("path")})
        initialize = await client.post(
            "/mcp",
            json={
                "jsonrpc": "2.0",
                "id": "init-1",
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                    "_meta": {"traceparent": parent("initialize")},
                },
            },
            headers={"Accept": "application/json, text/event-stream"},
        )
    assert (malformed.status_code, unknown.status_code) == (400, 404)
    assert initialize.status_code == 200, initialize.text
    route: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = pair.channel.unary_unary(
        "/mcpcoordinator.v1.CoordinatorService/Route"
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await route(b"\xff\xff\xff", metadata=(*AUTH, ("traceparent", parent("grpc"))))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    json_span = one(await spans_of(pair, collector, traces["json"], 1), "server")
    assert (json_span.name, json_span.status) == ("POST /route", "unset")
    assert json_span.attributes["http.response.status_code"] == 400
    assert json_span.attributes["error.type"] == "INVALID_ARGUMENT"
    path_span = one(await spans_of(pair, collector, traces["path"], 1), "server")
    assert (path_span.name, path_span.status) == ("GET", "unset")  # no route matched
    assert path_span.attributes["http.response.status_code"] == 404
    assert "http.route" not in path_span.attributes
    grpc_span = one(await spans_of(pair, collector, traces["grpc"], 1), "server")
    assert grpc_span.name == "mcpcoordinator.v1.CoordinatorService/Route"
    assert (grpc_span.status, grpc_span.attributes["rpc.grpc.status_code"]) == ("unset", 3)
    assert grpc_span.parent_span_id == CALLER_SPAN
    initialize_span = one(await spans_of(pair, collector, traces["initialize"], 1), "server")
    assert initialize_span.name == "initialize"
    assert initialize_span.attributes["jsonrpc.request.id"] == "init-1"
