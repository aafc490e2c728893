"""Data safety through the real doors: writes stay in their environment, a no-fallback rule
wins, every answer is delivered or refused with the truth, the cache helps in an outage, the
decision reported is the decision made, and disabled targets stay out of the way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from mcpcoordinator.v1 import coordinator_pb2 as pb
from mcpcoordinator.v1 import coordinator_pb2_grpc as pb_grpc
from prometheus_client.parser import text_string_to_metric_families

from coordinator.answers import MAX_ANSWER_DEPTH
from coordinator.calls import CallContext
from coordinator.config import Settings, TargetConfig
from coordinator.errors import CoordinatorError
from coordinator.operations import Operation
from coordinator.service import CoordinatorService, RouteCall
from coordinator.targets import open_target
from tests.cache.support import ManualClock
from tests.integration.conftest import API_KEY, AUTH, Running, running, settings_for
from tests.support.mcp_servers import SampleServer

HEADERS = {"X-API-Key": API_KEY}
CREATE = {"model": "res.partner", "values": {"name": "Only in the lab"}}
# The sample's `nested` answer is {"content": [...], "structuredContent": {"nested": [...]}}:
# two levels of its own around the lists the tool was asked for.
NESTED_OVERHEAD = 2


def route(**fields: Any) -> pb.RouteRequest:
    return json_format.ParseDict(fields, pb.RouteRequest())


def served_by(response: pb.RouteResponse) -> str:
    return str(json_format.MessageToDict(response.data)["structuredContent"]["server"])


async def counts(item: Running, target: str) -> dict[str, int]:
    """The sample's own count of tool calls and creates (read live)."""
    response = await item.stub.Route(
        route(tool="count_calls", target=target, no_cache=True), metadata=AUTH
    )
    found = json_format.MessageToDict(response.data)["structuredContent"]
    return {"tool_calls": int(found["tool_calls"]), "creates": int(found["creates"])}


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError(f"no ErrorInfo in {status}")


@pytest.fixture
async def lab() -> AsyncIterator[SampleServer]:
    """An odoo_lab sample of this test's own, free to kill."""
    server = await SampleServer("odoo_lab", "lab").start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def separate(shared_prod: SampleServer, lab: SampleServer) -> AsyncIterator[Running]:
    """Production and lab as the reference deployment has them: two groups of data."""
    settings = settings_for(shared_prod.target_config(), lab.target_config(), probe_interval=3600)
    async for item in running(settings):
        yield item


# -- 1. writes never change environment ----------------------------------------------------


@pytest.mark.slow
async def test_a_lab_write_with_the_lab_down_is_refused_and_production_untouched(
    separate: Running, lab: SampleServer
) -> None:
    await separate.stub.Route(route(tool="list_skills", target="odoo_lab"), metadata=AUTH)
    before = await counts(separate, "odoo_prod")
    await lab.kill()
    body = {"tool": "create_record", "arguments": CREATE, "context": {"migration": True}}
    async with httpx.AsyncClient(base_url=separate.http_url, headers=HEADERS) as client:
        answer = await client.post("/route", json=body)
    assert answer.status_code == 503, answer.text
    message = answer.json()["message"]
    assert message.startswith("target odoo_lab is unavailable"), message
    assert "may change data" in message
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await separate.stub.Route(route(**body), metadata=AUTH)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    after = await counts(separate, "odoo_prod")
    assert after["creates"] == before["creates"]
    assert after["tool_calls"] == before["tool_calls"] + 1  # count_calls itself


@pytest.mark.slow
async def test_a_lab_read_with_the_lab_down_still_fails_over_to_production(
    separate: Running, lab: SampleServer
) -> None:
    await lab.kill()
    response = await separate.stub.Route(
        route(query="List all skills", context={"migration": True}), metadata=AUTH
    )
    assert served_by(response) == "odoo_prod"
    assert response.routing.failover
    assert response.routing.reason.endswith("odoo_lab unavailable; answered by odoo_prod")


@pytest.mark.slow
async def test_a_write_skips_a_lab_with_an_open_circuit_without_touching_production(
    separate: Running, lab: SampleServer
) -> None:
    await lab.kill()
    for _ in range(5):  # five refusals open the lab's breaker
        with pytest.raises(grpc.aio.AioRpcError):
            await separate.stub.Route(
                route(tool="list_skills", target="odoo_lab", no_cache=True), metadata=AUTH
            )
    before = await counts(separate, "odoo_prod")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await separate.stub.Route(
            route(tool="create_record", arguments=CREATE, context={"oca": True}), metadata=AUTH
        )
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    details = raised.value.details() or ""
    assert "odoo_lab: circuit open" in details
    assert "odoo_prod: holds other data than odoo_lab" in details
    assert (await counts(separate, "odoo_prod"))["creates"] == before["creates"]


# -- 2. a no-fallback rule is never overridden ---------------------------------------------


@pytest.mark.slow
async def test_allow_failover_does_not_answer_finance_from_the_lab(
    prod: SampleServer, lab: SampleServer
) -> None:
    settings = settings_for(prod.target_config(), lab.target_config(), probe_interval=3600)
    async for item in running(settings):
        await prod.kill()
        before = await counts(item, "odoo_lab")
        body = {
            "query": "Show recent expenses",
            "target": "odoo_prod",
            "allow_failover": True,
            "context": {"finance-ssc": True},
        }
        async with httpx.AsyncClient(base_url=item.http_url, headers=HEADERS) as client:
            answer = await client.post("/route", json=body)
        assert answer.status_code == 503, answer.text
        message = answer.json()["message"]
        assert message.startswith("target odoo_prod is unavailable"), message
        assert "Finance SSC context requires production data" in message
        assert "no fallback" in message
        assert (await counts(item, "odoo_lab"))["tool_calls"] == before["tool_calls"] + 1


@pytest.mark.slow
async def test_a_no_fallback_rule_may_still_fail_over_to_a_replica_of_its_target(
    prod: SampleServer,
) -> None:
    replica = await SampleServer("odoo_prod_replica", "production").start()
    try:
        settings = settings_for(
            prod.target_config(group="production"),
            replica.target_config(group="production"),
            probe_interval=3600,
        )
        async for item in running(settings):
            await prod.kill()
            response = await item.stub.Route(
                route(query="Show recent expenses", context={"finance-ssc": True}),
                metadata=AUTH,
            )
            assert served_by(response) == "odoo_prod_replica"
            assert response.routing.failover
            assert response.routing.rule == "context:finance-ssc"
    finally:
        await replica.stop()


# -- 3. every answer is delivered, or refused with the truth ---------------------------------


@pytest.mark.parametrize("shape", ["list", "object", "mixed"])
async def test_answers_up_to_the_depth_limit_are_delivered_on_every_door(
    coordinator: Running, shape: str
) -> None:
    depth = MAX_ANSWER_DEPTH - NESTED_OVERHEAD
    arguments = {"depth": depth, "shape": shape}
    body = {"tool": "nested", "arguments": arguments, "no_cache": True}
    response = await coordinator.stub.Route(route(**body), metadata=AUTH)
    nested = json_format.MessageToDict(response.data)["structuredContent"]["nested"]
    async with httpx.AsyncClient(base_url=coordinator.http_url, headers=HEADERS) as client:
        answer = await client.post("/route", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["structuredContent"]["nested"] == nested
        both = await client.post("/aggregate", json=body)
        assert both.status_code == 200, both.text
        assert both.json()["errors"] == {}
    aggregated = await coordinator.stub.Aggregate(
        json_format.ParseDict(body, pb.AggregateRequest()), metadata=AUTH
    )
    for data in [*both.json()["results"].values(), *aggregated.results.values()]:
        if not isinstance(data, dict):
            data = json_format.MessageToDict(data)
        assert data["structuredContent"]["nested"] == nested
    levels = 0
    while isinstance(nested, list | dict):
        nested, levels = nested[0] if isinstance(nested, list) else nested["k"], levels + 1
    assert levels == depth


async def test_a_deeper_answer_is_refused_saying_the_call_ran_and_is_not_repeated(
    coordinator: Running,
) -> None:
    before = await counts(coordinator, "odoo_lab")
    # One level of objects past the limit: the deepest shape a client's parser would refuse.
    arguments = {"depth": MAX_ANSWER_DEPTH - NESTED_OVERHEAD + 1, "shape": "object"}
    body = {"tool": "nested", "arguments": arguments, "allow_failover": True}
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await coordinator.stub.Route(route(target="odoo_prod", **body), metadata=AUTH)
    assert raised.value.code() is grpc.StatusCode.OUT_OF_RANGE
    assert (raised.value.details() or "").startswith("the call ran on odoo_prod")
    info = error_info(raised.value)
    assert info.reason == "ANSWER_TOO_DEEP"
    assert dict(info.metadata) == {
        "target": "odoo_prod",
        "ran": "true",
        "limit": str(MAX_ANSWER_DEPTH),
    }
    async with httpx.AsyncClient(base_url=coordinator.http_url, headers=HEADERS) as client:
        answer = await client.post("/route", json={"target": "odoo_prod", **body})
    assert answer.status_code == 400, answer.text
    status = json_format.ParseDict(answer.json(), status_pb2.Status())
    assert status.code == grpc.StatusCode.OUT_OF_RANGE.value[0]
    assert "the call ran on odoo_prod" in status.message
    assert answer.json()["details"][0]["reason"] == "ANSWER_TOO_DEEP"
    # Neither a failover nor a retry: the lab saw only the count_calls calls.
    assert (await counts(coordinator, "odoo_lab"))["tool_calls"] == before["tool_calls"] + 1


@pytest.mark.slow
async def test_a_write_whose_answer_is_too_large_ran_once_and_says_so(
    shared_prod: SampleServer, lab: SampleServer
) -> None:
    settings = settings_for(
        lab.target_config(group="odoo"),
        shared_prod.target_config(group="odoo"),  # even a replica must not run it again
        max_answer_bytes=4096,
    )
    async for item in running(settings):
        before = {name: await counts(item, name) for name in ("odoo_lab", "odoo_prod")}
        values = {"name": "Big", "note": "x" * 8000}
        async with httpx.AsyncClient(base_url=item.http_url, headers=HEADERS) as client:
            answer = await client.post(
                "/route",
                json={
                    "tool": "create_record",
                    "arguments": {"model": "res.partner", "values": values},
                },
            )
        assert answer.status_code == 400, answer.text
        assert answer.json()["message"].startswith("the call ran on odoo_lab")
        assert "MAX_ANSWER_BYTES (4096 bytes)" in answer.json()["message"]
        assert answer.json()["details"][0]["reason"] == "ANSWER_TOO_LARGE"
        after = {name: await counts(item, name) for name in ("odoo_lab", "odoo_prod")}
        assert after["odoo_lab"]["creates"] == before["odoo_lab"]["creates"] + 1
        assert after["odoo_prod"]["creates"] == before["odoo_prod"]["creates"]


# -- 4. the cache in an outage ----------------------------------------------------------------


async def open_breaker(item: Running, target: str) -> None:
    for _ in range(5):
        with pytest.raises(grpc.aio.AioRpcError):
            await item.stub.Route(
                route(tool="count_calls", target=target, no_cache=True), metadata=AUTH
            )


@pytest.mark.slow
async def test_a_fresh_cached_answer_is_served_while_the_circuit_is_open(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(prod.target_config(), shared_lab.target_config(), probe_interval=3600)
    async for item in running(settings):
        request = route(query="Show recent expenses", context={"finance-ssc": True})
        first = await item.stub.Route(request, metadata=AUTH)
        await prod.kill()
        await open_breaker(item, "odoo_prod")
        again = await item.stub.Route(request, metadata=AUTH)
        assert again.routing.cached
        assert not again.routing.stale
        assert (again.routing.target, again.routing.failover) == ("odoo_prod", False)
        assert [(a.target, a.outcome) for a in again.routing.attempts] == [("odoo_prod", "cached")]
        assert "circuit open" in again.routing.attempts[0].error
        assert again.data == first.data
        aggregated = await item.stub.Aggregate(
            pb.AggregateRequest(
                query=request.query, context=request.context, targets=["odoo_prod"]
            ),
            metadata=AUTH,
        )
        assert dict(aggregated.errors) == {}
        assert aggregated.results["odoo_prod"] == first.data  # from the cache, circuit open


@pytest.mark.slow
async def test_stale_if_error_includes_targets_skipped_as_unhealthy_and_no_cache_means_none(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(
        prod.target_config(), shared_lab.target_config(), probe_interval=3600, cache_ttl=0.5
    )
    async for item in running(settings):
        request = route(query="Show recent expenses", context={"finance-ssc": True})
        await item.stub.Route(request, metadata=AUTH)
        await prod.kill()
        await open_breaker(item, "odoo_prod")
        await asyncio.sleep(0.6)  # the entry expires (it is kept for its grace period)
        stale = await item.stub.Route(request, metadata=AUTH)
        assert (stale.routing.target, stale.routing.cached, stale.routing.stale) == (
            "odoo_prod",
            True,
            True,
        )
        assert [(a.target, a.outcome) for a in stale.routing.attempts] == [
            ("odoo_prod", "skipped"),
            ("odoo_prod", "cached"),
        ]
        no_cache = route(query="Show recent expenses", context={"finance-ssc": True}, no_cache=True)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await item.stub.Route(no_cache, metadata=AUTH)
        assert raised.value.code() is grpc.StatusCode.UNAVAILABLE

        status = await item.stub.Status(pb.StatusRequest(), metadata=AUTH)
        async with httpx.AsyncClient(base_url=item.http_url) as client:
            text = (await client.get("/metrics")).text
        counted = {
            s.labels["result"]: int(s.value)
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "mcpc_cache_events_total"
        }
        cache = status.cache
        assert counted == {
            "hit": cache.hits,
            "miss": cache.misses,
            "coalesced": cache.coalesced,
            "stale": cache.stale,
        }
        assert cache.stale == 1
        assert cache.misses >= 1


# -- 6. the decision tells the truth ----------------------------------------------------------


@pytest.mark.slow
async def test_a_skipped_first_choice_is_a_failover_with_the_reason(
    prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(prod.target_config(), shared_lab.target_config(), probe_interval=3600)
    async for item in running(settings):
        await prod.kill()
        await open_breaker(item, "odoo_prod")
        body = {"query": "List all skills", "target": "odoo_prod", "allow_failover": True}
        async with httpx.AsyncClient(base_url=item.http_url, headers=HEADERS) as client:
            answer = await client.post("/route", json=body)
        assert answer.status_code == 200, answer.text
        routing = answer.json()["routing"]
        assert routing["target"] == "odoo_lab"
        assert routing["failover"] is True
        assert routing["reason"] == (
            "Explicit target odoo_prod; odoo_prod circuit open; answered by odoo_lab"
        )
        assert routing["attempts"][0]["target"] == "odoo_prod"
        assert routing["attempts"][0]["outcome"] == "skipped"
        assert routing["attempts"][0]["error"] == "circuit open"


# -- 7. enabled: false ----------------------------------------------------------------------


async def test_a_disabled_target_is_out_of_every_path(shared_prod: SampleServer) -> None:
    connections = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    # The disabled lab's address: a listener that counts whoever knocks (probes run every 50 ms).
    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    lab = TargetConfig(name="odoo_lab", url=f"http://127.0.0.1:{port}/mcp", enabled=False)
    settings = settings_for(shared_prod.target_config(), lab, probe_interval=0.05)
    async with listener:
        await check_disabled_lab(settings)
        await asyncio.sleep(0.2)  # four probe rounds that must not reach it
    assert connections == 0  # never opened, probed, warmed up or called


async def check_disabled_lab(settings: Settings) -> None:
    async for item in running(settings):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await item.stub.Route(route(query="skills", target="odoo_lab"), metadata=AUTH)
        assert raised.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert raised.value.details() == "target odoo_lab is disabled"
        async with httpx.AsyncClient(base_url=item.http_url, headers=HEADERS) as client:
            answer = await client.post("/route", json={"query": "skills", "target": "odoo_lab"})
            assert answer.status_code == 400
            assert answer.json()["message"] == "target odoo_lab is disabled"
            listed = await client.post("/aggregate", json={"query": "skills"})
            assert list(listed.json()["results"]) == ["odoo_prod"]
            named = await client.post(
                "/aggregate", json={"query": "skills", "targets": ["odoo_prod", "odoo_lab"]}
            )
            assert named.status_code == 400
            assert named.json()["message"] == "target odoo_lab is disabled"
        migration = await item.stub.Route(
            route(query="List all skills", context={"migration": True}), metadata=AUTH
        )
        assert served_by(migration) == "odoo_prod"
        assert migration.routing.failover
        assert [(a.target, a.outcome, a.error) for a in migration.routing.attempts] == [
            ("odoo_lab", "skipped", "disabled"),
            ("odoo_prod", "ok", ""),
        ]
        status = await item.stub.Status(pb.StatusRequest(), metadata=AUTH)
        lab_status = status.targets["odoo_lab"]
        assert (lab_status.healthy, lab_status.health_reason) == (False, "disabled")


# -- 8. every decision is logged ----------------------------------------------------------------


async def test_every_decision_is_one_log_line_and_a_bad_request_has_no_traceback(
    coordinator: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient(base_url=coordinator.http_url, headers=HEADERS) as client:
        ok = await client.post(
            "/route",
            json={"query": "skills", "context": {"migration": True}},
            headers={"X-Request-Id": "req-logged-ok"},
        )
        bad = await client.post(
            "/route", json={"query": "x", "target": "nope"}, headers={"X-Request-Id": "req-bad"}
        )
    assert (ok.status_code, bad.status_code) == (200, 400)
    await asyncio.sleep(0)
    lines = [r for r in caplog.records if r.name == "coordinator.decisions"]
    ids = [getattr(r, "request_id", "") for r in lines]
    assert (ids.count("req-logged-ok"), ids.count("req-bad")) == (1, 1)
    decisions = {getattr(r, "request_id", ""): r for r in lines}
    line = decisions["req-logged-ok"]
    assert line.levelno == logging.INFO
    fields = vars(line)
    assert {k: fields[k] for k in ("door", "method", "target", "rule", "outcome")} == {
        "door": "http",
        "method": "Route",
        "target": "odoo_lab",
        "rule": "context:migration",
        "outcome": "ok",
    }
    assert fields["reason"] == "Migration work uses the testing environment"
    assert fields["confidence"] == pytest.approx(0.9)
    assert {"latency_ms", "cached", "failover"} <= set(fields)
    refused = decisions["req-bad"]
    assert refused.levelno == logging.INFO  # the caller's mistake, not an operator's problem
    assert "unknown target 'nope'" in vars(refused)["error"]
    assert all(r.exc_info is None and not r.exc_text for r in caplog.records)


@pytest.mark.slow
async def test_answers_over_grpcs_default_4_mib_reach_rest_and_a_client_that_raises_its_limit(
    coordinator: Running,
) -> None:
    """As documented: REST delivers up to MAX_ANSWER_BYTES; a gRPC client receives 4 MiB
    unless it raises grpc.max_receive_message_length."""
    body = {"tool": "blob", "arguments": {"size": 5_000_000}, "no_cache": True}
    async with httpx.AsyncClient(base_url=coordinator.http_url, headers=HEADERS) as client:
        answer = await client.post("/route", json=body)
    assert answer.status_code == 200
    assert len(answer.json()["data"]["structuredContent"]["data"]) == 5_000_000
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await coordinator.stub.Route(route(**body), metadata=AUTH)
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED  # the client's own limit
    options = [("grpc.max_receive_message_length", 64 << 20)]
    address = f"127.0.0.1:{coordinator.coordinator.grpc_port}"
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        stub = pb_grpc.CoordinatorServiceStub(channel)
        response = await stub.Route(route(**body), metadata=AUTH)
    assert len(json_format.MessageToDict(response.data)["structuredContent"]["data"]) == 5_000_000


# -- 5. the breaker reflects the target, not the timing of late replies ------------------------


@pytest.mark.slow
async def test_concurrent_failures_open_the_breaker_once_and_a_probe_lets_a_trial_through(
    prod: SampleServer,
) -> None:
    clock = ManualClock()
    settings = settings_for(prod.target_config(timeout=0.3))
    ctx = CallContext(door="grpc", method="/test/Route")
    live = RouteCall(Operation.parse(tool="count_calls"), no_cache=True)
    async with open_target(settings.targets[0]) as target:
        service = CoordinatorService(settings, {"odoo_prod": target}, clock=clock)
        await service.route(live, ctx)  # the tool list is known
        prod.freeze()
        outcomes = await asyncio.gather(
            *(service.route(live, ctx) for _ in range(10)), return_exceptions=True
        )
        assert all(isinstance(o, CoordinatorError) for o in outcomes)
        assert service.status().targets["odoo_prod"].circuit == "open"
        clock.advance(30)  # ten late failures did not stretch the wait past 30 s
        assert service.status().targets["odoo_prod"].circuit == "half_open"
        with pytest.raises(CoordinatorError):
            await service.route(live, ctx)  # the trial fails: the wait doubles
        clock.advance(59)
        assert service.status().targets["odoo_prod"].circuit == "open"

        prod.thaw()
        service.on_probe("odoo_prod", True, "")  # a probe got through
        assert service.status().targets["odoo_prod"].circuit == "half_open"
        answered = await service.route(live, ctx)
        assert [(a.target, a.outcome) for a in answered.attempts] == [("odoo_prod", "ok")]
        assert service.status().targets["odoo_prod"].circuit == "closed"
