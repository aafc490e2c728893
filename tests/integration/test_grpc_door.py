"""The gRPC door's standard services, status details, and targets of every kind."""

from __future__ import annotations

import sys

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator.config import TargetConfig
from tests.integration.conftest import AUTH, Running, running, settings_for
from tests.support.mcp_servers import SampleServer


async def test_standard_health_service_reports_serving(coordinator: Running) -> None:
    stub = health_pb2_grpc.HealthStub(coordinator.channel)
    for service in ("", "mcpcoordinator.v1.CoordinatorService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_services(coordinator: Running) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(coordinator.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names: set[str] = set()
    async for reply in stub.ServerReflectionInfo(iter([request])):
        names |= {s.name for s in reply.list_services_response.service}
    assert {"mcpcoordinator.v1.CoordinatorService", "grpc.health.v1.Health"} <= names


async def test_invalid_argument_carries_a_bad_request_detail(coordinator: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await coordinator.stub.Route(pb.RouteRequest(), metadata=AUTH)
    status = rpc_status.from_call(raised.value)
    assert status is not None
    detail = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(detail)
    assert detail.field_violations[0].field == "query"


@pytest.mark.parametrize(
    ("protocol", "json_response"),
    [("2026-07-28", True), ("2025-11-25", True), ("2025-11-25", False), ("both", False)],
)
@pytest.mark.slow
async def test_http_targets_of_both_protocol_generations(
    protocol: str, json_response: bool
) -> None:
    server = SampleServer(
        "odoo_prod",
        "production",
        protocol=protocol,  # type: ignore[arg-type]
        json_response=json_response,
    )
    await server.start()
    try:
        async for item in running(settings_for(server.target_config())):
            response = await item.stub.Route(pb.RouteRequest(query="expenses"), metadata=AUTH)
            data = json_format.MessageToDict(response.data)
            assert data["structuredContent"]["kind"] == "expenses"
            status = await item.stub.Status(pb.StatusRequest(), metadata=AUTH)
            expected = "2025-11-25" if protocol == "2025-11-25" else "2026-07-28"
            assert status.targets["odoo_prod"].protocol_version == expected
    finally:
        await server.stop()


@pytest.mark.slow
async def test_stdio_target_is_started_routed_to_and_stopped() -> None:
    stdio = TargetConfig(
        name="odoo_local",
        transport="stdio",
        command=sys.executable,
        timeout=15.0,  # the first call may have to wait for the child to start
        args=(
            "-m",
            "coordinator.samples",
            "--name",
            "odoo_local",
            "--environment",
            "lab",
            "--stdio",
        ),
    )
    async for item in running(settings_for(stdio)):
        response = await item.stub.Route(pb.RouteRequest(tool="list_skills"), metadata=AUTH)
        data = json_format.MessageToDict(response.data)
        assert data["structuredContent"]["server"] == "odoo_local"
        status = await item.stub.Status(pb.StatusRequest(), metadata=AUTH)
        assert status.targets["odoo_local"].transport == "stdio"
