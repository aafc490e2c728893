"""Route over the gRPC door against two real sample MCP servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator import __version__
from tests.integration.conftest import AUTH, Running, running, settings_for
from tests.support.mcp_servers import SampleServer


def route_request(**fields: Any) -> pb.RouteRequest:
    return json_format.ParseDict(fields, pb.RouteRequest())


def structured(response: pb.RouteResponse) -> dict[str, Any]:
    data = json_format.MessageToDict(response.data)
    assert isinstance(data, dict)
    content = data["structuredContent"]
    assert isinstance(content, dict)
    return content


async def test_finance_ssc_query_is_answered_by_production(coordinator: Running) -> None:
    response = await coordinator.stub.Route(
        route_request(query="Show recent expenses", context={"finance-ssc": True}), metadata=AUTH
    )
    answer = structured(response)
    assert answer["server"] == "odoo_prod"
    assert answer["environment"] == "production"
    assert answer["kind"] == "expenses"
    # The query tool declares `context`, so the coordinator passed it on.
    assert answer["context"] == {"finance-ssc": True}
    routing = response.routing
    assert routing.target == "odoo_prod"
    assert routing.rule == "context:finance-ssc"
    assert routing.reason == "Finance SSC context requires production data"
    assert routing.confidence == pytest.approx(0.95)
    assert not routing.failover
    assert [(a.target, a.outcome) for a in routing.attempts] == [("odoo_prod", "ok")]


@pytest.mark.parametrize("flag", ["migration", "oca", "development"])
async def test_lab_contexts_go_to_the_lab(coordinator: Running, flag: str) -> None:
    response = await coordinator.stub.Route(
        route_request(query="Which skills do we have?", context={flag: True}), metadata=AUTH
    )
    assert structured(response)["environment"] == "lab"
    assert response.routing.rule == f"context:{flag}"


async def test_explicit_target_wins_with_confidence_one(coordinator: Running) -> None:
    response = await coordinator.stub.Route(
        route_request(query="List all skills", target="odoo_lab"), metadata=AUTH
    )
    assert structured(response)["server"] == "odoo_lab"
    assert response.routing.rule == "explicit"
    assert response.routing.confidence == 1.0


async def test_default_target_answers_plain_queries(coordinator: Running) -> None:
    response = await coordinator.stub.Route(route_request(query="List all skills"), metadata=AUTH)
    assert structured(response)["server"] == "odoo_prod"
    assert response.routing.rule == "default"


async def test_tool_call_with_arguments(coordinator: Running) -> None:
    response = await coordinator.stub.Route(
        route_request(tool="get_record", arguments={"model": "hr.expense", "record_id": 2}),
        metadata=AUTH,
    )
    assert structured(response)["record"]["employee"] == "Bruno Keller"


async def test_any_mcp_method_with_params(coordinator: Running) -> None:
    tools = await coordinator.stub.Route(route_request(method="tools/list"), metadata=AUTH)
    names = {tool["name"] for tool in json_format.MessageToDict(tools.data)["tools"]}
    assert {"query", "get_record", "create_record"} <= names

    resource = await coordinator.stub.Route(
        route_request(
            method="resources/read",
            params={"uri": "odoo://odoo_lab/environment"},
            target="odoo_lab",
        ),
        metadata=AUTH,
    )
    contents = json_format.MessageToDict(resource.data)["contents"]
    assert contents[0]["text"] == "odoo_lab serves the lab environment"


async def test_tool_error_result_is_an_answer_not_an_outage(coordinator: Running) -> None:
    response = await coordinator.stub.Route(
        route_request(tool="get_record", arguments={"model": "hr.expense", "record_id": 999}),
        metadata=AUTH,
    )
    data = json_format.MessageToDict(response.data)
    assert data["isError"] is True
    assert "does not exist on odoo_prod" in data["content"][0]["text"]
    assert not response.routing.failover
    assert [(a.target, a.outcome) for a in response.routing.attempts] == [
        ("odoo_prod", "error_result")
    ]


@pytest.mark.slow
async def test_protocol_error_is_invalid_argument_without_failover(coordinator: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await coordinator.stub.Route(
            route_request(tool="get_record", arguments={"model": "nope", "record_id": 1}),
            metadata=AUTH,
        )
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "odoo_prod answered MCP error -32602" in (raised.value.details() or "")
    status = coordinator.coordinator.service.status() if coordinator.coordinator.service else None
    assert status is not None
    assert status.targets["odoo_lab"].requests == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "query: one of query, tool or method is required"),
        ({"query": "x", "tool": "y"}, "tool: give exactly one of query, tool or method"),
        ({"tool": "y", "method": "tools/list"}, "method: give exactly one"),
        ({"query": "x", "arguments": {"a": 1}}, "arguments: only allowed together with tool"),
        ({"method": "tools list"}, "method: 'tools list' is not an MCP method name"),
        ({"method": "initialize"}, "method: 'initialize' is managed by the coordinator"),
        ({"query": "x", "target": "odoo_qa"}, "target: unknown target 'odoo_qa'"),
        ({"query": "   "}, "query: must not be blank"),
    ],
)
async def test_bad_requests_name_the_field(
    coordinator: Running, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await coordinator.stub.Route(route_request(**fields), metadata=AUTH)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert message in (raised.value.details() or "")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [(None, "missing API key"), ((("x-api-key", "wrong"),), "invalid API key")],
)
async def test_route_aggregate_status_need_the_api_key(
    coordinator: Running, metadata: Any, message: str
) -> None:
    calls: list[Awaitable[object]] = [
        coordinator.stub.Route(route_request(query="hi"), metadata=metadata),
        coordinator.stub.Aggregate(pb.AggregateRequest(query="hi"), metadata=metadata),
        coordinator.stub.Status(pb.StatusRequest(), metadata=metadata),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert message in (raised.value.details() or "")


async def test_health_is_open_and_lists_targets(coordinator: Running) -> None:
    health = await coordinator.stub.Health(pb.HealthRequest())
    assert (health.status, health.version) == ("ok", __version__)
    assert list(health.targets) == ["odoo_prod", "odoo_lab"]


async def test_status_reports_targets_and_protocols(coordinator: Running) -> None:
    await coordinator.stub.Route(route_request(query="skills"), metadata=AUTH)
    await coordinator.stub.Route(route_request(query="skills", target="odoo_lab"), metadata=AUTH)
    status = await coordinator.stub.Status(pb.StatusRequest(), metadata=AUTH)
    prod, lab = status.targets["odoo_prod"], status.targets["odoo_lab"]
    assert prod.requests >= 1
    assert lab.requests >= 1
    assert prod.circuit == "closed"
    assert prod.healthy
    assert prod.transport == "http"
    assert lab.protocol_version == "2025-11-25"
    assert prod.protocol_version in {"2026-07-28", "2025-11-25"}
    assert prod.latency_p50_ms > 0


@pytest.mark.slow
async def test_a_changed_tool_list_is_refetched_and_used_for_routing(
    shared_prod: SampleServer,
) -> None:
    lab = await SampleServer("odoo_lab", "lab").start()
    try:
        settings = settings_for(shared_prod.target_config(), lab.target_config())
        async for item in running(settings):
            # The pinned call fetches the lab's list first if the warm-up has not yet (so the
            # count taken after it is the list before the change, not an empty one).
            await item.stub.Route(
                route_request(tool="list_skills", target="odoo_lab"), metadata=AUTH
            )
            before = await item.stub.Status(pb.StatusRequest(), metadata=AUTH)
            assert before.targets["odoo_lab"].tools > 0
            await item.stub.Route(
                route_request(
                    tool="add_tool", arguments={"tool_name": "lab_only"}, target="odoo_lab"
                ),
                metadata=AUTH,
            )
            # tools/list_changed reaches the coordinator, which refetches the list.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                status = await item.stub.Status(pb.StatusRequest(), metadata=AUTH)
                if status.targets["odoo_lab"].tools > before.targets["odoo_lab"].tools:
                    break
                await asyncio.sleep(0.05)
            response = await item.stub.Route(route_request(tool="lab_only"), metadata=AUTH)
            assert response.routing.rule == "capability"
            assert response.routing.target == "odoo_lab"
    finally:
        await lab.stop()
