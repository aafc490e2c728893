"""Failover when a target is killed (connection refused) or frozen (SIGSTOP)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import json_format
from mcpcoordinator.v1 import coordinator_pb2 as pb

from tests.integration.conftest import AUTH, Running, running, settings_for
from tests.support.mcp_servers import SampleServer

ATTEMPT_TIMEOUT = 1.0


@pytest.fixture
async def pair(prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    """A coordinator whose odoo_prod is this test's own process, free to kill or freeze."""
    settings = settings_for(
        prod.target_config(timeout=ATTEMPT_TIMEOUT),
        shared_lab.target_config(timeout=ATTEMPT_TIMEOUT),
    )
    async for item in running(settings):
        yield item


def answered_by(response: pb.RouteResponse) -> str:
    server = json_format.MessageToDict(response.data)["structuredContent"]["server"]
    assert isinstance(server, str)
    return server


@pytest.mark.slow
async def test_killed_primary_fails_over_to_the_secondary(
    pair: Running, prod: SampleServer
) -> None:
    await pair.stub.Route(pb.RouteRequest(query="skills"), metadata=AUTH)  # session established
    await prod.kill()
    response = await pair.stub.Route(pb.RouteRequest(query="List all skills"), metadata=AUTH)
    assert answered_by(response) == "odoo_lab"
    routing = response.routing
    assert routing.failover
    assert routing.target == "odoo_lab"
    assert [(a.target, a.outcome) for a in routing.attempts] == [
        ("odoo_prod", "unavailable"),
        ("odoo_lab", "ok"),
    ]
    assert "odoo_prod" in routing.attempts[0].error


@pytest.mark.slow
async def test_frozen_primary_fails_over_after_the_attempt_timeout(
    pair: Running, prod: SampleServer
) -> None:
    await pair.stub.Route(pb.RouteRequest(query="skills"), metadata=AUTH)
    prod.freeze()
    started = time.monotonic()
    response = await pair.stub.Route(pb.RouteRequest(query="List all skills"), metadata=AUTH)
    assert answered_by(response) == "odoo_lab"
    assert [(a.target, a.outcome) for a in response.routing.attempts] == [
        ("odoo_prod", "timeout"),
        ("odoo_lab", "ok"),
    ]
    # Only the per-attempt timeout saved the call.
    assert time.monotonic() - started >= ATTEMPT_TIMEOUT
    assert "tools/call: no answer within" in response.routing.attempts[0].error


@pytest.mark.slow
async def test_finance_ssc_is_never_answered_from_the_lab(
    pair: Running, prod: SampleServer
) -> None:
    await prod.kill()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await pair.stub.Route(
            json_format.ParseDict(
                {"query": "expenses", "context": {"finance-ssc": True}}, pb.RouteRequest()
            ),
            metadata=AUTH,
        )
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    details = raised.value.details() or ""
    assert "target odoo_prod is unavailable" in details
    assert "no fallback" in details


@pytest.mark.slow
async def test_pinned_target_down_is_unavailable_unless_failover_allowed(
    pair: Running, prod: SampleServer
) -> None:
    await prod.kill()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await pair.stub.Route(pb.RouteRequest(query="skills", target="odoo_prod"), metadata=AUTH)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "odoo_prod" in (raised.value.details() or "")

    response = await pair.stub.Route(
        pb.RouteRequest(query="skills", target="odoo_prod", allow_failover=True), metadata=AUTH
    )
    assert answered_by(response) == "odoo_lab"
    assert response.routing.failover


@pytest.mark.slow
async def test_restarted_primary_is_used_again(pair: Running, prod: SampleServer) -> None:
    await prod.kill()
    response = await pair.stub.Route(pb.RouteRequest(query="skills"), metadata=AUTH)
    assert answered_by(response) == "odoo_lab"
    await prod.restart()
    response = await pair.stub.Route(pb.RouteRequest(query="skills"), metadata=AUTH)
    assert answered_by(response) == "odoo_prod"
    assert not response.routing.failover


@pytest.mark.slow
async def test_call_deadline_bounds_the_whole_request(pair: Running, prod: SampleServer) -> None:
    prod.freeze()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await pair.stub.Route(
            pb.RouteRequest(query="skills", target="odoo_prod"), metadata=AUTH, timeout=0.3
        )
    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
