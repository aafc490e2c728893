"""The fault suite: targets failing the way real servers fail, each with a bound.

Real sample MCP server processes are killed (connection refused), frozen with
SIGSTOP (a blackhole only a timeout detects), made slow, put behind an HTTP
layer that answers 503 or flaps, and flooded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from mcpcoordinator.v1 import coordinator_pb2 as pb
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import API_KEY, AUTH, Running, running, settings_for
from tests.integration.fault_proxy import FaultProxy
from tests.support.mcp_servers import SampleServer

PER_TRY = 0.5


def route(**fields: Any) -> pb.RouteRequest:
    return json_format.ParseDict({"no_cache": True, **fields}, pb.RouteRequest())


def server_of(response: pb.RouteResponse) -> str:
    name = json_format.MessageToDict(response.data)["structuredContent"]["server"]
    assert isinstance(name, str)
    return name


@pytest.fixture
async def pair(prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    settings = settings_for(
        prod.target_config(), shared_lab.target_config(), per_try_timeout=PER_TRY
    )
    async for item in running(settings):
        yield item


async def timed(item: Running, request: pb.RouteRequest) -> tuple[pb.RouteResponse, float]:
    started = time.monotonic()
    response = await item.stub.Route(request, metadata=AUTH)
    return response, time.monotonic() - started


@pytest.mark.slow
async def test_frozen_primary_breaker_opens_then_failover_costs_almost_nothing(
    pair: Running, prod: SampleServer
) -> None:
    await timed(pair, route(query="skills"))
    prod.freeze()
    slow_calls = []
    for _ in range(5):  # five timeouts in a row open the breaker
        response, elapsed = await timed(pair, route(query="skills"))
        assert server_of(response) == "odoo_lab"
        assert response.routing.attempts[0].outcome == "timeout"
        slow_calls.append(elapsed)
    assert all(t >= PER_TRY for t in slow_calls), slow_calls  # each waited for its timeout
    status = await pair.stub.Status(pb.StatusRequest(), metadata=AUTH)
    assert status.targets["odoo_prod"].circuit == "open"
    for _ in range(3):
        response = await pair.stub.Route(route(query="skills"), metadata=AUTH)
        assert server_of(response) == "odoo_lab"
        # Once the breaker is open the dead primary is not called: it costs no time at all.
        skipped, answered = response.routing.attempts
        assert (skipped.target, skipped.outcome) == ("odoo_prod", "skipped")
        assert "circuit open" in skipped.error
        assert skipped.latency_ms == 0
        assert (answered.target, answered.outcome) == ("odoo_lab", "ok")


@pytest.mark.slow
async def test_mutating_call_that_may_have_run_is_not_replayed(
    pair: Running, prod: SampleServer, shared_lab: SampleServer
) -> None:
    await pair.stub.Route(route(tool="list_skills"), metadata=AUTH)  # tool list known
    prod.freeze()
    request = route(
        tool="create_record", arguments={"model": "res.partner", "values": {"name": "Once"}}
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await pair.stub.Route(request, metadata=AUTH)
    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "outcome unknown: the call may have run on odoo_prod" in (raised.value.details() or "")


@pytest.mark.slow
async def test_refused_connection_moves_a_mutating_call_on_to_a_replica(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(
        prod.target_config(group="odoo"),
        shared_lab.target_config(group="odoo"),  # declared to hold the same data
        per_try_timeout=PER_TRY,
    )
    async for item in running(settings):
        await prod.kill()
        request = route(
            tool="create_record", arguments={"model": "res.partner", "values": {"name": "Moved"}}
        )
        response = await item.stub.Route(request, metadata=AUTH)
        assert server_of(response) == "odoo_lab"  # nothing was sent to odoo_prod
        assert response.routing.attempts[0].outcome == "unavailable"
        assert response.routing.failover


@pytest.mark.slow
async def test_slow_tool_times_out_per_try_and_moves_on(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(prod.target_config(timeout=0.3), shared_lab.target_config(timeout=5.0))
    async for item in running(settings):
        response, elapsed = await timed(item, route(tool="slow", arguments={"seconds": 1.0}))
        assert server_of(response) == "odoo_lab"
        assert [a.outcome for a in response.routing.attempts] == ["timeout", "ok"]
        assert elapsed >= 1.3  # 0.3 s on odoo_prod, then the 1 s tool on odoo_lab


@pytest.mark.slow
async def test_503_from_an_http_layer_fails_over(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    async with FaultProxy(prod.url).running() as proxy:
        settings = settings_for(
            prod.target_config(url=proxy.url),
            shared_lab.target_config(),
            per_try_timeout=PER_TRY,
        )
        async for item in running(settings):
            assert server_of(await item.stub.Route(route(query="skills"), metadata=AUTH)) == (
                "odoo_prod"
            )
            proxy.mode = "503"
            response = await item.stub.Route(route(query="skills"), metadata=AUTH)
            assert server_of(response) == "odoo_lab"
            assert response.routing.attempts[0].outcome == "unavailable"
            assert "503" in response.routing.attempts[0].error


@pytest.mark.slow
async def test_flapping_target_never_fails_a_read(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    async with FaultProxy(prod.url).running() as proxy:
        settings = settings_for(
            prod.target_config(url=proxy.url),
            shared_lab.target_config(),
            per_try_timeout=PER_TRY,
        )
        async for item in running(settings):
            await item.stub.Route(route(query="skills"), metadata=AUTH)
            proxy.mode = "flap"
            answered = [
                server_of(await item.stub.Route(route(query="skills"), metadata=AUTH))
                for _ in range(20)
            ]
            assert set(answered) == {"odoo_prod", "odoo_lab"}
            status = await item.stub.Status(pb.StatusRequest(), metadata=AUTH)
            # Failures never come five in a row, so the breaker stays closed.
            assert status.targets["odoo_prod"].circuit == "closed"


@pytest.mark.slow
async def test_health_probes_notice_a_frozen_target_without_traffic(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(
        prod.target_config(),
        shared_lab.target_config(),
        probe_interval=0.1,
        probe_timeout=0.2,
    )
    async for item in running(settings):
        prod.freeze()
        status = await wait_for_status(item, lambda s: not s.targets["odoo_prod"].healthy)
        assert "failed 3 health probes" in status.targets["odoo_prod"].health_reason
        response = await item.stub.Route(route(query="skills"), metadata=AUTH)
        assert server_of(response) == "odoo_lab"
        assert response.routing.attempts[0].outcome == "skipped"
        prod.thaw()
        await wait_for_status(item, lambda s: s.targets["odoo_prod"].healthy)
        response = await item.stub.Route(route(query="skills"), metadata=AUTH)
        assert server_of(response) == "odoo_prod"


async def wait_for_status(item: Running, condition: Any, within: float = 10.0) -> pb.StatusResponse:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        status = await item.stub.Status(pb.StatusRequest(), metadata=AUTH)
        if condition(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"status condition not reached within {within}s")


@pytest.mark.slow
async def test_per_target_cap_rejects_excess_at_once(prod: SampleServer) -> None:
    settings = settings_for(prod.target_config(max_in_flight=2))
    async for item in running(settings):
        # Distinct arguments: identical calls would be coalesced into one.
        calls = [
            route(tool="slow", arguments={"seconds": 1.0, "n": n}, target="odoo_prod")
            for n in range(8)
        ]
        results = await asyncio.gather(
            *(item.stub.Route(call, metadata=AUTH) for call in calls), return_exceptions=True
        )
        rejected = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(rejected) == 6  # turned away, not queued behind the two in flight
        assert all(r.code() is grpc.StatusCode.RESOURCE_EXHAUSTED for r in rejected)


@pytest.mark.slow
async def test_overall_admission_cap(shared_lab: SampleServer) -> None:
    settings = settings_for(shared_lab.target_config(), max_in_flight=3)
    async for item in running(settings):
        calls = [
            item.stub.Route(route(tool="slow", arguments={"seconds": 0.8, "n": n}), metadata=AUTH)
            for n in range(6)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        rejected = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(rejected) == 3
        assert all("overloaded" in (r.details() or "") for r in rejected)
        health = await item.stub.Health(pb.HealthRequest())
        assert health.status == "ok"  # the loop stayed responsive


@pytest.mark.slow
async def test_cancelled_caller_cancels_the_upstream_call(prod: SampleServer) -> None:
    settings = settings_for(prod.target_config(timeout=10))
    async for item in running(settings):
        call = item.stub.Route(
            route(tool="slow", arguments={"seconds": 5}, target="odoo_prod"), metadata=AUTH
        )
        await wait_for_status(item, lambda s: s.targets["odoo_prod"].in_flight == 1)
        call.cancel()  # the 5 s call ends long before its answer would have come
        await wait_for_status(item, lambda s: s.targets["odoo_prod"].in_flight == 0, within=3)


@pytest.mark.slow
async def test_cancelled_aggregate_cancels_every_branch(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(prod.target_config(timeout=10), shared_lab.target_config(timeout=10))
    async for item in running(settings):
        call = item.stub.Aggregate(
            json_format.ParseDict(
                {"tool": "slow", "arguments": {"seconds": 5}, "no_cache": True},
                pb.AggregateRequest(),
            ),
            metadata=AUTH,
        )
        await wait_for_status(item, lambda s: all(t.in_flight == 1 for t in s.targets.values()))
        call.cancel()
        await wait_for_status(
            item, lambda s: all(t.in_flight == 0 for t in s.targets.values()), within=2
        )


@pytest.mark.slow
async def test_rest_client_that_disconnects_cancels_the_upstream_call(prod: SampleServer) -> None:
    settings = settings_for(prod.target_config(timeout=10))
    async for item in running(settings):
        reader, writer = await asyncio.open_connection("127.0.0.1", item.coordinator.http_port)
        body = b'{"tool": "slow", "arguments": {"seconds": 5}, "target": "odoo_prod"}'
        writer.write(
            b"POST /route HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"X-API-Key: {API_KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        await wait_for_status(item, lambda s: s.targets["odoo_prod"].in_flight == 1)
        writer.close()  # the caller goes away without waiting for the answer
        await writer.wait_closed()
        await wait_for_status(item, lambda s: s.targets["odoo_prod"].in_flight == 0, within=3)
        assert await reader.read() == b""


@pytest.mark.slow
async def test_a_failover_is_counted_against_the_first_candidate_on_both_status_and_metrics(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    """odoo_prod's breaker is open (skipped), odoo_second refuses, odoo_lab answers: the
    failover is from odoo_prod, the policy's first choice, in the answer, Status and /metrics."""
    second = await SampleServer("odoo_second", "production").start()
    try:
        settings = settings_for(
            prod.target_config(),
            second.target_config(),
            shared_lab.target_config(),
            probe_interval=3600,
        )
        async for item in running(settings):
            await prod.kill()
            await second.kill()
            pinned = route(query="List expenses", target="odoo_prod")
            for _ in range(5):  # five refusals open odoo_prod's breaker
                with pytest.raises(grpc.aio.AioRpcError):
                    await item.stub.Route(pinned, metadata=AUTH)
            answer = await item.stub.Route(route(query="List expenses"), metadata=AUTH)
            assert [(a.target, a.outcome) for a in answer.routing.attempts] == [
                ("odoo_prod", "skipped"),
                ("odoo_second", "unavailable"),
                ("odoo_lab", "ok"),
            ]
            assert answer.routing.failover
            assert answer.routing.reason.endswith("odoo_prod circuit open; answered by odoo_lab"), (
                answer.routing.reason
            )
            status = await item.stub.Status(pb.StatusRequest(), metadata=AUTH)
            failovers = {name: t.failovers for name, t in status.targets.items()}
            assert failovers == {"odoo_prod": 1, "odoo_second": 0, "odoo_lab": 0}
            async with httpx.AsyncClient(base_url=item.http_url) as client:
                text = (await client.get("/metrics")).text
            counted = {
                (s.labels["from_target"], s.labels["to_target"]): s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
                if s.name == "mcpc_failovers_total"
            }
            assert counted == {("odoo_prod", "odoo_lab"): 1.0}
    finally:
        await second.stop()
