"""Fuzzing the real contract: schemathesis against the coordinator's own /openapi.json
(a real coordinator in front of the sample targets), hypothesis-made messages and raw
bytes through the gRPC door, and hypothesis-made tool calls through /mcp. No 5xx, no INTERNAL
or UNKNOWN (or JSON-RPC internal error), every response as documented."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcpcoordinator.v1 import coordinator_pb2 as pb
from mcpcoordinator.v1 import coordinator_pb2_grpc as pb_grpc
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.conftest import settings_for
from tests.support.mcp_servers import SampleServer

from .threaded import Served, coordinator_in_thread

API_KEY = "fuzz-key-0123456789abcdefghijklmn"
AUTH = (("x-api-key", API_KEY),)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}


@pytest.fixture(scope="module")
def served(shared_prod: SampleServer, shared_lab: SampleServer) -> Iterator[Served]:
    config = settings_for(shared_prod.target_config(), shared_lab.target_config(), api_key=API_KEY)
    with coordinator_in_thread(config) as served:
        yield served


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode",
    [
        GenerationMode.POSITIVE,
        pytest.param(
            GenerationMode.NEGATIVE,
            # schemathesis's negative generator draws from `random` inside a strategy.
            marks=pytest.mark.filterwarnings(
                "ignore:Do not use the `random` module"
                ":hypothesis.errors.HypothesisDeprecationWarning"
            ),
        ),
    ],
)
def test_every_operation_of_the_served_document_holds_under_fuzzing(
    served: Served, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{served.http_url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert not isinstance(result, Err), result
        operations.append(result.ok())
    assert {op.path for op in operations} == {
        "/health",
        "/route",
        "/aggregate",
        "/status",
        "/usage",
    }
    fuzzed = set()
    for operation in operations:
        # The key's header counts as a parameter here; it is sent right on every call.
        takes_input = operation.method.upper() == "POST" or any(
            parameter.location in ("query", "path") for parameter in operation.iter_parameters()
        )
        if mode is GenerationMode.NEGATIVE and not takes_input:
            continue  # GET /health and /status take no input to break; GET /usage its query
        fuzzed.add(operation.path)

        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            response = case.call(
                base_url=served.http_url, headers={"X-API-Key": API_KEY}, timeout=15
            )
            case.validate_response(
                response, checks=CHECKS if mode is GenerationMode.POSITIVE else CHECKS[:1]
            )

        check()
    if mode is GenerationMode.NEGATIVE:
        assert fuzzed == {"/route", "/aggregate", "/usage"}


JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
NAMES = st.sampled_from(["", "odoo_prod", "odoo_lab", "nowhere", "list_skills", "tools/list"])
TEXT = NAMES | st.text(max_size=40)


@st.composite
def route_requests(draw: st.DrawFn) -> pb.RouteRequest:
    request = pb.RouteRequest(
        query=draw(TEXT),
        target=draw(NAMES),
        tool=draw(TEXT),
        method=draw(TEXT),
        allow_failover=draw(st.booleans()),
        no_cache=draw(st.booleans()),
    )
    for field in ("context", "arguments", "params"):
        document = draw(st.none() | st.dictionaries(st.text(max_size=10), JSON, max_size=4))
        if document is not None:
            getattr(request, field).update(document)
    return request


def assert_no_server_fault(call: Any) -> None:
    fault: tuple[grpc.StatusCode, str | None] | None = None
    try:
        call()
    except grpc.RpcError as error:
        if error.code() in SERVER_FAULTS:
            fault = (error.code(), error.details())
    assert fault is None


@pytest.mark.slow
def test_generated_messages_through_the_grpc_door_never_get_internal_or_unknown(
    served: Served,
) -> None:
    with grpc.insecure_channel(served.grpc_address) as channel:
        stub = pb_grpc.CoordinatorServiceStub(channel)

        @FUZZ
        @given(request=route_requests())
        def route(request: pb.RouteRequest) -> None:
            assert_no_server_fault(lambda: stub.Route(request, metadata=AUTH, timeout=15))
            aggregate = pb.AggregateRequest(
                query=request.query,
                tool=request.tool,
                method=request.method,
                targets=[request.target] if request.target else [],
            )
            aggregate.context.CopyFrom(request.context)
            assert_no_server_fault(lambda: stub.Aggregate(aggregate, metadata=AUTH, timeout=15))

        route()


@pytest.mark.slow
def test_random_bytes_through_the_grpc_door_never_get_internal_or_unknown(
    served: Served,
) -> None:
    with grpc.insecure_channel(served.grpc_address) as channel:
        methods: list[grpc.UnaryUnaryMultiCallable[bytes, bytes]] = [
            channel.unary_unary(
                f"/mcpcoordinator.v1.CoordinatorService/{name}",
                request_serializer=None,
                response_deserializer=None,
            )
            for name in ("Route", "Aggregate", "Status", "Health")
        ]

        @FUZZ
        @given(raw=st.binary(max_size=200), which=st.integers(0, 3), keyed=st.booleans())
        def send(raw: bytes, which: int, keyed: bool) -> None:
            metadata = AUTH if keyed else ()
            assert_no_server_fault(lambda: methods[which](raw, metadata=metadata, timeout=15))

        send()


@st.composite
def deep(draw: st.DrawFn) -> object:
    """A JSON value wrapped in up to 40 objects or lists: around the default MAX_JSON_DEPTH."""
    value: object = draw(JSON)
    for wrap in draw(st.lists(st.booleans(), max_size=40)):
        value = {"a": value} if wrap else [value]
    return value


MCP_NAME = st.sampled_from(["list_skills", "get_record", "aggregate", "nope"]) | st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20
)


@st.composite
def tools_calls(draw: st.DrawFn) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    if draw(st.booleans()):
        meta["mcp-coordinator/context"] = draw(deep() | JSON)
    if draw(st.booleans()):
        meta["mcp-coordinator/target"] = draw(NAMES | JSON)
    arguments = draw(st.dictionaries(st.text(max_size=300), deep() | JSON, max_size=3))
    return {"name": draw(MCP_NAME), "arguments": arguments, "_meta": meta}


@pytest.mark.slow
def test_generated_tool_calls_through_the_mcp_door_never_get_a_server_error(
    served: Served,
) -> None:
    with httpx.Client(base_url=served.http_url, timeout=15) as client:

        @settings(FUZZ, max_examples=50)
        @given(params=tools_calls())
        def call(params: dict[str, Any]) -> None:
            message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
            answer = client.post(
                "/mcp",
                json=message,
                headers={
                    "X-API-Key": API_KEY,
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": "2026-07-28",
                    "Mcp-Method": "tools/call",
                    "Mcp-Name": params["name"],
                },
            )
            assert answer.status_code < 500, answer.text
            if answer.headers["content-type"].startswith("text/event-stream"):
                data = [line[5:] for line in answer.text.splitlines() if line.startswith("data:")]
                body = json.loads(data[-1])
            else:
                body = answer.json()
            assert body.get("error", {}).get("code") != -32603, body

        call()
