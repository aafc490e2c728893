"""What the coordinator caches, what it never caches, coalescing and stale-if-error,
with real sample servers (and the shared Redis for the replica test)."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import pytest
from google.protobuf import json_format
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator.cache import open_cache
from coordinator.calls import CallContext
from coordinator.errors import CoordinatorError
from coordinator.operations import Operation
from coordinator.service import CoordinatorService, RouteCall
from coordinator.targets import open_target
from tests.cache.support import ManualClock
from tests.integration.conftest import AUTH, Running, running, settings_for
from tests.support.mcp_servers import SampleServer


def route(**fields: Any) -> pb.RouteRequest:
    return json_format.ParseDict(fields, pb.RouteRequest())


def content(response: pb.RouteResponse) -> dict[str, Any]:
    data = json_format.MessageToDict(response.data)["structuredContent"]
    assert isinstance(data, dict)
    return data


async def tool_calls_served(item: Running, target: str) -> int:
    """The server's own count of tool calls (read live: no_cache)."""
    response = await item.stub.Route(
        route(tool="count_calls", target=target, no_cache=True), metadata=AUTH
    )
    return int(content(response)["tool_calls"])


async def test_read_only_tool_is_cached_and_status_counts_it(coordinator: Running) -> None:
    request = route(
        tool="get_record", arguments={"model": "res.partner", "record_id": 1}, target="odoo_lab"
    )
    first = await coordinator.stub.Route(request, metadata=AUTH)
    before = await tool_calls_served(coordinator, "odoo_lab")
    second = await coordinator.stub.Route(request, metadata=AUTH)
    assert not first.routing.cached
    assert second.routing.cached
    assert [(a.target, a.outcome) for a in second.routing.attempts] == [("odoo_lab", "cached")]
    assert content(second) == content(first)
    # The second answer never reached the server (count_calls itself adds one).
    assert await tool_calls_served(coordinator, "odoo_lab") == before + 1
    status = await coordinator.stub.Status(pb.StatusRequest(), metadata=AUTH)
    assert status.cache.backend == "memory"
    assert status.cache.hits >= 1
    assert status.cache.misses >= 1


async def test_mutating_tool_runs_on_the_target_every_time(coordinator: Running) -> None:
    request = route(
        tool="create_record",
        target="odoo_lab",
        arguments={"model": "res.partner", "values": {"name": "Cache Test"}},
    )
    first = await coordinator.stub.Route(request, metadata=AUTH)
    second = await coordinator.stub.Route(request, metadata=AUTH)
    assert not second.routing.cached
    assert content(second)["creates"] == content(first)["creates"] + 1


async def test_no_cache_skips_reading_but_refreshes(coordinator: Running) -> None:
    request = route(method="resources/read", params={"uri": "odoo://odoo_prod/models"})
    await coordinator.stub.Route(request, metadata=AUTH)
    fresh = await coordinator.stub.Route(
        route(method="resources/read", params={"uri": "odoo://odoo_prod/models"}, no_cache=True),
        metadata=AUTH,
    )
    assert not fresh.routing.cached
    again = await coordinator.stub.Route(request, metadata=AUTH)
    assert again.routing.cached


async def test_tool_errors_are_never_cached(coordinator: Running) -> None:
    request = route(tool="get_record", arguments={"model": "hr.expense", "record_id": 404})
    await coordinator.stub.Route(request, metadata=AUTH)
    second = await coordinator.stub.Route(request, metadata=AUTH)
    assert json_format.MessageToDict(second.data)["isError"] is True
    assert not second.routing.cached


async def test_concurrent_identical_misses_make_one_upstream_call(coordinator: Running) -> None:
    before = await tool_calls_served(coordinator, "odoo_prod")
    marker = uuid.uuid4().hex  # a fresh key: nothing cached yet
    request = route(tool="slow", arguments={"seconds": 0.5, "marker": marker}, target="odoo_prod")
    responses = await asyncio.gather(
        *(coordinator.stub.Route(request, metadata=AUTH) for _ in range(100))
    )
    assert all(content(r)["slept"] == 0.5 for r in responses)
    assert await tool_calls_served(coordinator, "odoo_prod") == before + 2  # slow + count_calls
    status = await coordinator.stub.Status(pb.StatusRequest(), metadata=AUTH)
    # Each of the other 99 waited for that call, or (arriving after it, on a loaded machine)
    # was answered from the cache it filled.
    assert status.cache.coalesced + status.cache.hits >= 99


async def test_aggregate_uses_the_same_cache_per_target(coordinator: Running) -> None:
    request = pb.AggregateRequest(method="prompts/list")
    await coordinator.stub.Aggregate(request, metadata=AUTH)
    before = (await coordinator.stub.Status(pb.StatusRequest(), metadata=AUTH)).cache.hits
    await coordinator.stub.Aggregate(request, metadata=AUTH)
    after = (await coordinator.stub.Status(pb.StatusRequest(), metadata=AUTH)).cache.hits
    assert after == before + 2


@pytest.mark.slow
async def test_stale_answer_only_when_every_target_fails(prod: SampleServer) -> None:
    clock = ManualClock()
    settings = settings_for(prod.target_config(timeout=1.0), cache_ttl=60)
    ctx = CallContext(door="grpc", method="/test/Route")
    call = RouteCall(Operation.parse(tool="list_skills"))
    async with (
        open_target(settings.targets[0]) as target,
        open_cache(None, ttl=60, stale_grace=120, clock=clock) as cache,
    ):
        service = CoordinatorService(settings, {"odoo_prod": target}, cache=cache)
        live = await service.route(call, ctx)
        assert not live.cached
        clock.advance(61)  # expired, within the grace period
        refreshed = await service.route(call, ctx)
        assert not refreshed.cached  # the target is up: expired entries are not served
        clock.advance(61)
        await prod.kill()
        stale = await service.route(call, ctx)
        assert stale.cached
        assert stale.stale
        assert stale.data == live.data
        assert [a.outcome for a in stale.attempts] == ["unavailable", "cached"]
        assert cache.stats().stale == 1


async def test_replicas_share_answers_through_redis(shared_lab: SampleServer) -> None:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = settings_for(shared_lab.target_config(), redis_url=redis_url)
    marker = uuid.uuid4().hex
    request = route(tool="slow", arguments={"seconds": 0, "marker": marker})
    async for replica_a in running(settings):
        first = await replica_a.stub.Route(request, metadata=AUTH)
        assert not first.routing.cached
        async for replica_b in running(settings):
            second = await replica_b.stub.Route(request, metadata=AUTH)
            assert second.routing.cached
            status = await replica_b.stub.Status(pb.StatusRequest(), metadata=AUTH)
            assert (status.cache.backend, status.cache.redis_state) == ("redis", "up")


@pytest.mark.slow
async def test_a_cache_hit_does_not_hold_a_recovering_targets_trial_call(
    prod: SampleServer,
) -> None:
    """A half-open breaker lets one call through to learn whether the target is back.
    A cache hit is not that call: it must leave the trial to the next live request."""
    clock = ManualClock()
    settings = settings_for(prod.target_config(timeout=1.0), cache_ttl=3600)
    ctx = CallContext(door="grpc", method="/test/Route")
    cached = RouteCall(Operation.parse(tool="list_skills"))
    live = RouteCall(Operation.parse(tool="count_calls"), no_cache=True)
    async with (
        open_target(settings.targets[0]) as target,
        open_cache(None, ttl=3600, clock=clock) as cache,
    ):
        service = CoordinatorService(settings, {"odoo_prod": target}, cache=cache, clock=clock)
        await service.route(cached, ctx)  # fills the cache
        await prod.kill()
        for _ in range(5):  # five refusals open the breaker
            with pytest.raises(CoordinatorError):
                await service.route(live, ctx)
        await prod.restart()
        clock.advance(31)  # past the breaker's wait: half-open
        hit = await service.route(cached, ctx)
        assert hit.cached
        answered = await service.route(live, ctx)
        assert [(a.target, a.outcome) for a in answered.attempts] == [("odoo_prod", "ok")]
