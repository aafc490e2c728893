"""Aggregate: every target in parallel, partial failures reported, never fatal."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import json_format
from mcpcoordinator.v1 import coordinator_pb2 as pb

from tests.integration.conftest import AUTH, Running, running, settings_for
from tests.support.mcp_servers import SampleServer

ATTEMPT_TIMEOUT = 1.0


def servers(response: pb.AggregateResponse) -> dict[str, str]:
    results = json_format.MessageToDict(response)["results"]
    return {name: data["structuredContent"]["environment"] for name, data in results.items()}


@pytest.mark.slow
async def test_both_targets_answer(coordinator: Running) -> None:
    response = await coordinator.stub.Aggregate(
        pb.AggregateRequest(query="List all skills"), metadata=AUTH
    )
    assert response.query == "List all skills"
    assert servers(response) == {"odoo_prod": "production", "odoo_lab": "lab"}
    assert dict(response.errors) == {}
    summary = response.aggregation
    assert list(summary.targets) == ["odoo_prod", "odoo_lab"]
    assert (summary.mode, summary.succeeded, summary.failed) == ("parallel", 2, 0)
    assert summary.elapsed_ms > 0


async def test_targets_subset(coordinator: Running) -> None:
    response = await coordinator.stub.Aggregate(
        pb.AggregateRequest(method="prompts/list", targets=["odoo_lab"]), metadata=AUTH
    )
    assert list(response.results) == ["odoo_lab"]
    assert response.query == "prompts/list"


async def test_unknown_target_in_subset_is_invalid(coordinator: Running) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await coordinator.stub.Aggregate(
            pb.AggregateRequest(query="x", targets=["odoo_qa"]), metadata=AUTH
        )
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "targets: unknown targets ['odoo_qa']" in (raised.value.details() or "")


@pytest.fixture
async def pair(prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    settings = settings_for(
        prod.target_config(timeout=ATTEMPT_TIMEOUT),
        shared_lab.target_config(timeout=ATTEMPT_TIMEOUT),
    )
    async for item in running(settings):
        yield item


@pytest.mark.slow
async def test_dead_target_is_reported_not_fatal(pair: Running, prod: SampleServer) -> None:
    await prod.kill()
    response = await pair.stub.Aggregate(pb.AggregateRequest(query="skills"), metadata=AUTH)
    assert servers(response) == {"odoo_lab": "lab"}
    assert response.errors["odoo_prod"].code == "UNAVAILABLE"
    assert "odoo_prod" in response.errors["odoo_prod"].message
    assert (response.aggregation.succeeded, response.aggregation.failed) == (1, 1)


@pytest.mark.slow
async def test_frozen_target_costs_only_its_timeout(pair: Running, prod: SampleServer) -> None:
    prod.freeze()
    response = await pair.stub.Aggregate(pb.AggregateRequest(query="skills"), metadata=AUTH)
    assert servers(response) == {"odoo_lab": "lab"}
    assert response.errors["odoo_prod"].code == "DEADLINE_EXCEEDED"
    assert ": no answer within" in response.errors["odoo_prod"].message


async def test_aggregation_can_be_disabled(shared_prod: SampleServer) -> None:
    settings = settings_for(shared_prod.target_config(), enable_aggregation=False)
    async for item in running(settings):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await item.stub.Aggregate(pb.AggregateRequest(query="x"), metadata=AUTH)
        assert raised.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert "ENABLE_AGGREGATION=false" in (raised.value.details() or "")


async def test_a_disabled_target_is_left_out_of_aggregate(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(shared_prod.target_config(), shared_lab.target_config(enabled=False))
    async for item in running(settings):
        response = await item.stub.Aggregate(
            pb.AggregateRequest(query="List all skills"), metadata=AUTH
        )
        assert servers(response) == {"odoo_prod": "production"}
        assert list(response.aggregation.targets) == ["odoo_prod"]
