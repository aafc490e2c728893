"""The Usage RPC on a real coordinator: the same answer through gRPC and REST, over the
in-process window and over PostgreSQL, with bad requests refused alike on both doors."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from mcpcoordinator.v1 import coordinator_pb2 as pb

from tests.integration.conftest import API_KEY, AUTH, Running, running, settings_for
from tests.support.mcp_servers import SampleServer
from tests.support.usage_schema import dsn_in, migrated_schema


@pytest.fixture
async def in_memory(shared_prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    settings = settings_for(shared_prod.target_config(), shared_lab.target_config())
    async for item in running(settings):
        yield item


@pytest.fixture
async def in_postgres(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> AsyncIterator[Running]:
    async with migrated_schema() as schema:
        settings = settings_for(
            shared_prod.target_config(), shared_lab.target_config(), database_url=dsn_in(schema)
        )
        async for item in running(settings):
            yield item


async def make_traffic(coordinator: Running) -> tuple[list[str], list[str]]:
    """Two requests through gRPC and one through REST; returns their request ids by door."""
    grpc_ids = [uuid.uuid4().hex for _ in range(2)]
    http_ids = [uuid.uuid4().hex]
    finance = pb.RouteRequest(query="Show recent expenses", no_cache=True)
    finance.context.update({"finance-ssc": True})
    await coordinator.stub.Route(finance, metadata=(*AUTH, ("x-request-id", grpc_ids[0])))
    await coordinator.stub.Route(
        pb.RouteRequest(tool="list_skills", target="odoo_lab", no_cache=True),
        metadata=(*AUTH, ("x-request-id", grpc_ids[1])),
    )
    async with httpx.AsyncClient(base_url=coordinator.http_url) as client:
        answer = await client.post(
            "/route",
            json={"query": "Which modules need migration?", "context": {"migration": True}},
            headers={"X-API-Key": API_KEY, "X-Request-Id": http_ids[0]},
        )
        assert answer.status_code == 200
    return grpc_ids, http_ids


async def usage_over_rest(coordinator: Running, **params: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=coordinator.http_url) as client:
        response = await client.get("/usage", params=params, headers={"X-API-Key": API_KEY})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def over_both_doors(
    coordinator: Running, request: pb.UsageRequest
) -> tuple[pb.UsageResponse, dict[str, Any]]:
    """The same question over gRPC and REST, asked again when the two answers fell on either
    side of a bucket boundary (the window ends with the bucket holding now)."""
    params = {
        k: str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in json_format.MessageToDict(request, preserving_proto_field_name=True).items()
    }
    for _ in range(3):
        over_grpc = await coordinator.stub.Usage(request, metadata=AUTH)
        over_rest = await usage_over_rest(coordinator, **params)
        if as_json(over_grpc)["window_start"] == over_rest["window_start"]:
            break
    return over_grpc, over_rest


def as_json(message: pb.UsageResponse) -> dict[str, Any]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


async def test_both_doors_report_the_traffic_of_both_doors(in_memory: Running) -> None:
    grpc_ids, http_ids = await make_traffic(in_memory)

    over_grpc, over_rest = await over_both_doors(in_memory, pb.UsageRequest(window_seconds=900))

    assert over_grpc.source == "memory"
    assert as_json(over_grpc) == over_rest
    assert over_grpc.summary.requests == 3
    assert [d.request_id for d in over_grpc.recent] == [*reversed(http_ids), *reversed(grpc_ids)]
    newest = over_grpc.recent[0]
    assert (newest.door, newest.target, newest.rule) == ("http", "odoo_lab", "context:migration")
    assert [(a.target, a.outcome) for a in newest.attempts] == [("odoo_lab", "ok")]
    assert {c.key: c.count for c in over_grpc.breakdown.by_door} == {"grpc": 2, "http": 1}
    assert {c.key: c.count for c in over_grpc.breakdown.by_target} == {
        "odoo_prod": 1,
        "odoo_lab": 2,
    }
    assert {(r.rule, r.count) for r in over_grpc.breakdown.by_reason} == {
        ("context:finance-ssc", 1),
        ("explicit", 1),
        ("context:migration", 1),
    }
    assert sum(p.requests for p in over_grpc.series if p.target == "odoo_lab") == 2
    assert all(p.latency_p99_ms >= p.latency_p50_ms > 0 for p in over_grpc.series)

    only_grpc = await usage_over_rest(in_memory, door="grpc", recent_only="true", page_size="1")
    assert [d["request_id"] for d in only_grpc["recent"]] == [grpc_ids[1]]
    assert only_grpc["series"] == []
    older = await usage_over_rest(
        in_memory, door="grpc", recent_only="true", page_token=only_grpc["next_page_token"]
    )
    assert [d["request_id"] for d in older["recent"]] == [grpc_ids[0]]
    assert older["next_page_token"] == ""


async def test_usage_is_answered_by_sql_when_a_database_is_configured(
    in_postgres: Running,
) -> None:
    _, http_ids = await make_traffic(in_postgres)
    wanted = http_ids[0]
    deadline = time.monotonic() + 10
    while True:  # the recorder writes in the background, off the request path
        found = await in_postgres.stub.Usage(
            pb.UsageRequest(request_id=wanted, window_seconds=900), metadata=AUTH
        )
        if found.recent or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert found.source == "postgres"
    [decision] = found.recent
    assert (decision.request_id, decision.door, decision.rule) == (
        wanted,
        "http",
        "context:migration",
    )
    assert found.summary.requests == 1
    assert [(p.target, p.requests) for p in found.series] == [("odoo_lab", 1)]
    found, rest = await over_both_doors(
        in_postgres, pb.UsageRequest(request_id=wanted, window_seconds=900)
    )
    assert rest == as_json(found)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window_seconds": "0x10"}, "window_seconds"),
        ({"window_seconds": "999999"}, "window_seconds: must be 1 to 604800, got 999999"),
        ({"door": "ftp"}, "door: must be one of grpc, http, mcp, got 'ftp'"),
        ({"page_token": "zzz"}, "page_token: not a next_page_token of an earlier answer"),
    ],
)
async def test_bad_requests_are_invalid_arguments_on_both_doors(
    in_memory: Running, params: dict[str, str], message: str
) -> None:
    async with httpx.AsyncClient(base_url=in_memory.http_url) as client:
        response = await client.get("/usage", params=params, headers={"X-API-Key": API_KEY})
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    if params.get("window_seconds") == "0x10":
        return  # not a number: the REST door refuses it before any handler
    request = json_format.ParseDict(
        {k: int(v) if v.isdigit() else v for k, v in params.items()}, pb.UsageRequest()
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await in_memory.stub.Usage(request, metadata=AUTH)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (raised.value.details() or "").startswith(message)


async def test_usage_needs_the_key(in_memory: Running) -> None:
    async with httpx.AsyncClient(base_url=in_memory.http_url) as client:
        response = await client.get("/usage", headers={"X-API-Key": "wrong"})
    assert response.status_code == 401
    assert response.json()["message"] == "invalid API key"
