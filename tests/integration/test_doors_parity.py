"""The same requests through the REST door and the gRPC door give the same answers:
same status (by the one error table), same message, same body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator.config import TargetConfig
from coordinator.errors import ERROR_TABLE, ErrorCode
from tests.integration.conftest import API_KEY, Running, running, settings_for
from tests.support.mcp_servers import SampleServer, free_port


@dataclass(frozen=True)
class Case:
    name: str
    method: str  # RPC name
    body: dict[str, Any]
    api_key: str | None = API_KEY
    timeout: float | None = None
    code: ErrorCode | None = None  # None: success
    message: str = ""


CASES = [
    # no_cache: the second door must not get the first door's answer from the cache.
    Case(
        "finance-ssc query",
        "Route",
        {"query": "Show recent expenses", "no_cache": True, "context": {"finance-ssc": True}},
    ),
    Case(
        "tool call on the lab",
        "Route",
        {"tool": "list_skills", "target": "odoo_lab", "no_cache": True},
    ),
    Case(
        "tool error result",
        "Route",
        {"tool": "get_record", "arguments": {"model": "hr.expense", "record_id": 99}},
    ),
    Case(
        "aggregate a subset",
        "Aggregate",
        {"method": "prompts/list", "no_cache": True, "targets": ["odoo_prod", "odoo_lab"]},
    ),
    Case("aggregate with a dead target", "Aggregate", {"query": "skills", "no_cache": True}),
    Case("health", "Health", {}, api_key=None),
    Case(
        "missing key",
        "Route",
        {"query": "x"},
        api_key=None,
        code=ErrorCode.UNAUTHENTICATED,
        message="missing API key",
    ),
    Case(
        "wrong key",
        "Status",
        {},
        api_key="nope",
        code=ErrorCode.UNAUTHENTICATED,
        message="invalid API key",
    ),
    Case(
        "no operation",
        "Route",
        {},
        code=ErrorCode.INVALID_ARGUMENT,
        message="query: one of query, tool or method is required",
    ),
    Case(
        "two operations",
        "Route",
        {"query": "x", "method": "tools/list"},
        code=ErrorCode.INVALID_ARGUMENT,
        message="method: give exactly one",
    ),
    Case(
        "unknown target",
        "Route",
        {"query": "x", "target": "odoo_qa"},
        code=ErrorCode.INVALID_ARGUMENT,
        message="target: unknown target 'odoo_qa'",
    ),
    Case(
        "protocol error from the target",
        "Route",
        {"tool": "get_record", "arguments": {"model": "nope", "record_id": 1}},
        code=ErrorCode.INVALID_ARGUMENT,
        message="odoo_prod answered MCP error -32602",
    ),
    Case(
        "pinned target down",
        "Route",
        {"query": "x", "target": "odoo_dead"},
        code=ErrorCode.UNAVAILABLE,
        message="target odoo_dead is unavailable",
    ),
    Case(
        "deadline",
        "Route",
        {"tool": "slow", "arguments": {"seconds": 2}},
        timeout=0.3,
        code=ErrorCode.DEADLINE_EXCEEDED,
        message="deadline exceeded",
    ),
]

REST = {
    "Route": ("POST", "/route"),
    "Aggregate": ("POST", "/aggregate"),
    "Health": ("GET", "/health"),
    "Status": ("GET", "/status"),
}
REQUESTS = {
    "Route": pb.RouteRequest,
    "Aggregate": pb.AggregateRequest,
    "Health": pb.HealthRequest,
    "Status": pb.StatusRequest,
}


@pytest.fixture
async def doors(shared_prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    dead = TargetConfig(name="odoo_dead", url=f"http://127.0.0.1:{free_port()}/mcp")
    settings = settings_for(shared_prod.target_config(), shared_lab.target_config(), dead)
    async for item in running(settings):
        yield item


def without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: without_timings(v)
            for k, v in value.items()
            if k not in ("latency_ms", "elapsed_ms", "error", "message")
        }
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


async def call_grpc(doors: Running, case: Case) -> tuple[ErrorCode | None, str, Any]:
    request = json_format.ParseDict(case.body, REQUESTS[case.method]())
    metadata = (("x-api-key", case.api_key),) if case.api_key else None
    try:
        response = await getattr(doors.stub, case.method)(
            request, metadata=metadata, timeout=case.timeout
        )
    except grpc.aio.AioRpcError as error:
        return ErrorCode[error.code().name], error.details() or "", None
    body = json_format.MessageToDict(
        response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return None, "", body


async def call_rest(
    client: httpx.AsyncClient, case: Case
) -> tuple[ErrorCode | None, str, Any, httpx.Response]:
    verb, path = REST[case.method]
    headers = {"X-API-Key": case.api_key} if case.api_key else {}
    if case.timeout is not None:
        headers["Grpc-Timeout"] = f"{int(case.timeout * 1000)}m"
    response = await client.request(
        verb, path, json=case.body if verb == "POST" else None, headers=headers
    )
    body = response.json()
    if response.status_code == 200:
        return None, "", body, response
    return ErrorCode(body["code"]), body["message"], None, response


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_both_doors_agree(doors: Running, case: Case) -> None:
    async with httpx.AsyncClient(base_url=doors.http_url, timeout=30) as client:
        rest_code, rest_message, rest_body, http = await call_rest(client, case)
    grpc_code, grpc_message, grpc_body = await call_grpc(doors, case)

    assert grpc_code == case.code, grpc_message
    assert rest_code == case.code, rest_message
    assert case.message.lower() in grpc_message.lower()
    assert case.message.lower() in rest_message.lower()
    if case.code is None:
        assert http.status_code == 200
        assert without_timings(rest_body) == without_timings(grpc_body)
    else:
        assert http.status_code == ERROR_TABLE[case.code].http_status
        if case.code is not ErrorCode.DEADLINE_EXCEEDED:  # whichever timer fires first words it
            assert rest_message == grpc_message
    if case.code is ErrorCode.UNAUTHENTICATED:
        assert "WWW-Authenticate" in http.headers
