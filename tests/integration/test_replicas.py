"""Replicas of the coordinator: on one Redis, an answer one replica fetched is
served from the cache by the other, whichever door each request comes through
(the Redis is a redis-server of the test's own, so no other test's keys mix
in); circuit breakers stay each replica's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from mcpcoordinator.v1 import coordinator_pb2 as pb

from tests.cache.support import RedisServer
from tests.integration.conftest import API_KEY, AUTH, Running, running, settings_for
from tests.support.mcp_servers import SampleServer, free_port

RECORD = {"tool": "get_record", "arguments": {"model": "hr.expense", "record_id": 2}}


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


async def served_by(item: Running, target: str) -> int:
    """The target's own count of tool calls (read live: no_cache)."""
    request = json_format.ParseDict(
        {"tool": "count_calls", "target": target, "no_cache": True}, pb.RouteRequest()
    )
    response = await item.stub.Route(request, metadata=AUTH)
    counted = json_format.MessageToDict(response.data)["structuredContent"]["tool_calls"]
    return int(counted)


async def route_over_http(item: Running, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=item.http_url, timeout=30) as client:
        response = await client.post("/route", json=body, headers={"X-API-Key": API_KEY})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.slow
async def test_an_answer_fetched_by_one_replica_is_a_cache_hit_on_the_other(
    shared_prod: SampleServer, shared_lab: SampleServer, redis_server: RedisServer
) -> None:
    settings = settings_for(
        shared_prod.target_config(), shared_lab.target_config(), redis_url=redis_server.url
    )
    async for first in running(settings):  # each loop runs once
        async for second in running(settings):
            filled = await route_over_http(first, RECORD)
            calls_before = await served_by(first, "odoo_prod")

            hit = await second.stub.Route(
                json_format.ParseDict(RECORD, pb.RouteRequest()), metadata=AUTH
            )

            assert filled["routing"]["cached"] is False
            assert hit.routing.cached
            assert [(a.target, a.outcome) for a in hit.routing.attempts] == [
                ("odoo_prod", "cached")
            ]
            assert json_format.MessageToDict(hit.data) == filled["data"]
            # Only count_calls reached the server: the hit did not.
            assert await served_by(second, "odoo_prod") == calls_before + 1
            first_status = await first.stub.Status(pb.StatusRequest(), metadata=AUTH)
            second_status = await second.stub.Status(pb.StatusRequest(), metadata=AUTH)
            assert (first_status.cache.backend, first_status.cache.redis_state) == ("redis", "up")
            assert (second_status.cache.backend, second_status.cache.redis_state) == ("redis", "up")
            assert second_status.cache.hits == 1
            assert first_status.cache.hits == 0


@pytest.mark.slow
async def test_each_replica_keeps_its_own_circuit_breakers(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    """A replica that saw the primary fail stops trying it; another replica has
    not seen those failures and still tries it first (README: Scaling out)."""
    settings = settings_for(prod.target_config(), shared_lab.target_config(), probe_interval=3600.0)
    request = json_format.ParseDict({"query": "skills", "no_cache": True}, pb.RouteRequest())
    async for first in running(settings):  # each loop runs once
        async for second in running(settings):
            await prod.kill()
            for _ in range(5):  # five refusals in a row open the first replica's breaker
                failed_over = await first.stub.Route(request, metadata=AUTH)
                assert failed_over.routing.target == "odoo_lab"

            skipped = await first.stub.Route(request, metadata=AUTH)
            tried = await second.stub.Route(request, metadata=AUTH)

            first_status = await first.stub.Status(pb.StatusRequest(), metadata=AUTH)
            second_status = await second.stub.Status(pb.StatusRequest(), metadata=AUTH)
            assert first_status.targets["odoo_prod"].circuit == "open"
            assert second_status.targets["odoo_prod"].circuit == "closed"
            assert skipped.routing.attempts[0].target == "odoo_prod"
            assert skipped.routing.attempts[0].outcome == "skipped"
            assert tried.routing.attempts[0].target == "odoo_prod"
            assert tried.routing.attempts[0].outcome == "unavailable"
            assert tried.routing.target == "odoo_lab"
