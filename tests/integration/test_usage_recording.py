"""Every request lands as one row in the usage table, and /metrics and Status
show what happened, whichever door it came through."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from mcpcoordinator.v1 import coordinator_pb2 as pb
from prometheus_client.parser import text_string_to_metric_families

from coordinator.usage import apply_migrations
from tests.integration.conftest import API_KEY, AUTH, Running, running, settings_for
from tests.support.mcp_servers import SampleServer
from tests.support.usage_schema import SERVER_DSN, drop_schema, dsn_in, new_schema_name

SCHEMA = new_schema_name("usage_it")
DATABASE_URL = dsn_in(SCHEMA)


@pytest.fixture(scope="module")
def usage_schema() -> Iterator[str]:
    """One schema for the module's tests (their rows are told apart by request id)."""
    asyncio.run(apply_migrations(SERVER_DSN, schema=SCHEMA))
    yield SCHEMA
    asyncio.run(drop_schema(SCHEMA))


@pytest.fixture
async def recorded(
    shared_prod: SampleServer, shared_lab: SampleServer, usage_schema: str
) -> AsyncIterator[Running]:
    settings = settings_for(
        shared_prod.target_config(), shared_lab.target_config(), database_url=DATABASE_URL
    )
    async for item in running(settings):
        yield item


async def row_for(request_id: str, within: float = 10.0) -> asyncpg.Record:
    return (await rows_for(request_id, 1, within))[0]


async def rows_for(request_id: str, count: int, within: float = 10.0) -> list[asyncpg.Record]:
    """The usage rows of `request_id`, oldest first, once there are `count` of them."""
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            rows = await connection.fetch(
                "SELECT * FROM usage_events WHERE request_id = $1 ORDER BY time", request_id
            )
            if len(rows) >= count:
                return list(rows)
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    raise AssertionError(f"fewer than {count} usage rows for {request_id} within {within}s")


async def test_grpc_and_http_requests_are_recorded_with_their_decision(recorded: Running) -> None:
    grpc_id, http_id = uuid.uuid4().hex, uuid.uuid4().hex
    request = pb.RouteRequest(query="Show recent expenses", no_cache=True)
    request.context.update({"finance-ssc": True})
    await recorded.stub.Route(request, metadata=(*AUTH, ("x-request-id", grpc_id)))
    async with httpx.AsyncClient(base_url=recorded.http_url) as client:
        answer = await client.post(
            "/route",
            json={"tool": "list_skills", "target": "odoo_lab"},
            headers={"X-API-Key": API_KEY, "X-Request-Id": http_id},
        )
        assert answer.status_code == 200
        refused = await client.post("/route", json={"query": "x"}, headers={"X-API-Key": "bad"})
        assert refused.status_code == 401

    grpc_row = await row_for(grpc_id)
    assert grpc_row["door"] == "grpc"
    assert grpc_row["method"] == "Route"
    assert grpc_row["target"] == "odoo_prod"
    assert grpc_row["rule"] == "context:finance-ssc"
    assert grpc_row["confidence"] == pytest.approx(0.95)
    assert grpc_row["status_code"] == "OK"
    assert grpc_row["api_key_id"] == "default"  # the id of COORDINATOR_API_KEY, not the key

    http_row = await row_for(http_id)
    assert (http_row["door"], http_row["target"], http_row["rule"]) == (
        "http",
        "odoo_lab",
        "explicit",
    )


async def test_metrics_and_status_count_by_door(recorded: Running) -> None:
    await recorded.stub.Route(pb.RouteRequest(tool="list_skills"), metadata=AUTH)
    async with httpx.AsyncClient(base_url=recorded.http_url) as client:
        await client.get("/health")
        text = (await client.get("/metrics")).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    routed = [
        value
        for (name, labels), value in samples.items()
        if name == "mcpc_requests_total"
        and ("door", "grpc") in labels
        and ("method", "Route") in labels
    ]
    assert sum(routed) >= 1
    assert any(name == "mcpc_target_circuit_state" for name, _ in samples)
    assert "Show recent" not in text
    assert API_KEY not in text

    status = await recorded.stub.Status(pb.StatusRequest(), metadata=AUTH)
    assert status.requests["grpc/Route"] >= 1
    assert status.requests["http/Health"] >= 1
    assert (status.usage.sink, status.usage.state) == ("postgres", "up")


async def test_a_reused_request_id_cannot_suppress_later_rows(recorded: Running) -> None:
    reused = f"reused-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=recorded.http_url) as client:
        for target in ("odoo_prod", "odoo_lab"):
            answer = await client.post(
                "/route",
                json={"tool": "list_skills", "target": target},
                headers={"X-API-Key": API_KEY, "X-Request-Id": reused},
            )
            assert answer.status_code == 200
    await recorded.stub.Route(
        pb.RouteRequest(tool="list_skills", target="odoo_prod"),
        metadata=(*AUTH, ("x-request-id", reused)),
    )
    rows = await rows_for(reused, 3)
    assert [(r["door"], r["target"]) for r in rows] == [
        ("http", "odoo_prod"),
        ("http", "odoo_lab"),
        ("grpc", "odoo_prod"),
    ]
    assert len({r["event_id"] for r in rows}) == 3


async def test_an_oversized_request_id_is_replaced_the_same_way_on_both_doors(
    recorded: Running,
) -> None:
    huge = "x" * 3000  # past what a PostgreSQL index entry can hold
    response = await recorded.stub.Route(
        pb.RouteRequest(tool="list_skills", target="odoo_lab"),
        metadata=(*AUTH, ("x-request-id", huge)),
    )
    assert response.routing.target == "odoo_lab"
    async with httpx.AsyncClient(base_url=recorded.http_url) as client:
        answer = await client.post(
            "/route",
            json={"tool": "list_skills", "target": "odoo_prod"},
            headers={"X-API-Key": API_KEY, "X-Request-Id": huge},
        )
        assert answer.status_code == 200
        replaced = answer.headers["x-request-id"]
    assert replaced != huge
    assert 1 <= len(replaced) <= 128
    await row_for(replaced)
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows = await connection.fetch(
                "SELECT length(request_id) AS n FROM usage_events "
                "WHERE door = 'grpc' AND target = 'odoo_lab'"
            )
            if rows:
                break
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    assert rows  # the gRPC call was recorded, under an id of its own
    assert all(1 <= r["n"] <= 128 for r in rows)
