"""The documented REST API, served from the real CoordinatorService descriptor.

The handlers here are stand-ins for the core (which this package does not
own): they record the request and answer a fixed message, so what is tested
is the transcoding of the documented shapes, not routing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from google.protobuf.message import Message
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator.calls import CallContext
from coordinator.gateway import build_gateway

SERVICE = pb.DESCRIPTOR.services_by_name["CoordinatorService"]


class StandInCore:
    def __init__(self) -> None:
        self.requests: list[tuple[Message, CallContext]] = []

    async def route(self, request: Message, context: CallContext) -> Message:
        self.requests.append((request, context))
        response = pb.RouteResponse()
        response.data.struct_value.update({"content": [{"type": "text", "text": "hi"}]})
        response.routing.target = "odoo_prod"
        response.routing.reason = "Finance SSC context requires production data"
        response.routing.confidence = 0.95
        return response

    async def aggregate(self, request: Message, context: CallContext) -> Message:
        self.requests.append((request, context))
        assert isinstance(request, pb.AggregateRequest)
        response = pb.AggregateResponse(query=request.query)
        response.results["odoo_prod"].string_value = "a"
        response.aggregation.targets.extend(["odoo_prod", "odoo_lab"])
        response.aggregation.mode = "parallel"
        return response

    async def health(self, request: Message, context: CallContext) -> Message:
        return pb.HealthResponse(status="ok", version="0.1.0", targets=["odoo_prod", "odoo_lab"])

    async def status(self, request: Message, context: CallContext) -> Message:
        response = pb.StatusResponse(version="0.1.0")
        response.targets["odoo_prod"].healthy = True
        response.targets["odoo_prod"].requests = 3
        return response

    async def usage(self, request: Message, context: CallContext) -> Message:
        self.requests.append((request, context))
        response = pb.UsageResponse(source="memory", bucket_seconds=60)
        response.window_start.FromSeconds(1_764_504_000)
        response.series.add(target="odoo_prod", requests=7, latency_p50_ms=1.5)
        return response


@pytest.fixture
def core() -> StandInCore:
    return StandInCore()


@pytest.fixture
async def api(core: StandInCore) -> AsyncIterator[httpx.AsyncClient]:
    app = build_gateway(
        services=[
            (
                SERVICE,
                {
                    "Route": core.route,
                    "Aggregate": core.aggregate,
                    "Health": core.health,
                    "Status": core.status,
                    "Usage": core.usage,
                },
            )
        ]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8766") as client:
        yield client


async def test_health(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")

    assert response.json() == {
        "status": "ok",
        "version": "0.1.0",
        "targets": ["odoo_prod", "odoo_lab"],
    }


async def test_route_documented_request_and_shape(
    api: httpx.AsyncClient, core: StandInCore
) -> None:
    response = await api.post(
        "/route",
        headers={"X-API-Key": "secret", "Content-Type": "application/json"},
        content=b'{"query":"List skills","context":{"finance-ssc":true},"target":"odoo_prod"}',
    )

    assert response.status_code == 200
    request, context = core.requests[-1]
    expected = pb.RouteRequest(query="List skills", target="odoo_prod")
    expected.context.update({"finance-ssc": True})
    assert request == expected
    assert context.metadata == {"x-api-key": "secret"}
    assert context.method == "/mcpcoordinator.v1.CoordinatorService/Route"
    body = response.json()
    assert body["data"] == {"content": [{"type": "text", "text": "hi"}]}
    routing = body["routing"]
    every_field = {f.name for f in pb.RoutingDecision.DESCRIPTOR.fields}
    assert set(routing) == every_field  # unpopulated fields too: a stable shape
    assert routing["target"] == "odoo_prod"
    assert routing["confidence"] == 0.95
    assert routing["cached"] is False
    assert routing["attempts"] == []


async def test_aggregate_shape(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/aggregate", headers={"X-API-Key": "k"}, json={"query": "List all skills", "context": {}}
    )

    body = response.json()
    assert body["query"] == "List all skills"
    assert body["results"] == {"odoo_prod": "a"}
    assert body["errors"] == {}
    assert body["aggregation"]["targets"] == ["odoo_prod", "odoo_lab"]
    assert body["aggregation"]["mode"] == "parallel"


async def test_status_int64_counters_are_strings(api: httpx.AsyncClient) -> None:
    body = (await api.get("/status", headers={"X-API-Key": "k"})).json()

    assert body["targets"]["odoo_prod"]["requests"] == "3"
    assert body["targets"]["odoo_prod"]["healthy"] is True
    assert body["cache"] is None


async def test_usage_query_parameters_fill_the_request(
    api: httpx.AsyncClient, core: StandInCore
) -> None:
    response = await api.get(
        "/usage",
        params={
            "window_seconds": "86400",
            "bucket_seconds": "60",
            "target": "odoo_lab",
            "outcome": "error",
            "recent_only": "true",
            "page_size": "100",
        },
        headers={"X-API-Key": "k"},
    )

    assert response.status_code == 200
    request, _ = core.requests[-1]
    assert request == pb.UsageRequest(
        window_seconds=86400,
        bucket_seconds=60,
        target="odoo_lab",
        outcome="error",
        recent_only=True,
        page_size=100,
    )
    body = response.json()
    assert body["window_start"] == "2025-11-30T12:00:00Z"
    assert body["series"][0]["requests"] == "7"
    assert body["series"][0]["latency_p50_ms"] == 1.5
