"""Keys with scopes and targets, on both doors: 401 for a missing or wrong key, 403 for a
key without the scope or the target, the key id (never the key) in Status, metrics and logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from mcpcoordinator.v1 import coordinator_pb2 as pb
from prometheus_client.parser import text_string_to_metric_families

from coordinator.auth import hash_key
from coordinator.config import ApiKeyConfig
from tests.integration.conftest import Running
from tests.support.mcp_servers import SampleServer

from .conftest import KEYS, OPS_KEY, REPORTER_KEY, VIEWER_KEY, keyed_coordinator


def key(value: str) -> tuple[tuple[str, str]]:
    return (("x-api-key", value),)


async def grpc_code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    return raised.value.code()


async def test_missing_and_wrong_keys_are_401_on_rest_and_unauthenticated_on_grpc(
    keyed: Running,
) -> None:
    request = pb.RouteRequest(tool="list_skills", target="odoo_lab")
    assert await grpc_code(keyed.stub.Route(request)) == grpc.StatusCode.UNAUTHENTICATED
    assert (
        await grpc_code(keyed.stub.Route(request, metadata=key(OPS_KEY + "x")))
        == grpc.StatusCode.UNAUTHENTICATED
    )
    async with httpx.AsyncClient(base_url=keyed.http_url) as client:
        body = {"tool": "list_skills", "target": "odoo_lab"}
        missing = await client.post("/route", json=body)
        wrong = await client.post("/route", json=body, headers={"X-API-Key": OPS_KEY[:-1]})
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json()["message"].startswith("missing API key")
    assert wrong.json()["message"] == "invalid API key"
    assert OPS_KEY[:-1] not in wrong.text


async def test_a_key_without_the_scope_is_403_permission_denied(keyed: Running) -> None:
    request = pb.RouteRequest(tool="list_skills", target="odoo_lab")
    assert (
        await grpc_code(keyed.stub.Route(request, metadata=key(VIEWER_KEY)))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    aggregate = pb.AggregateRequest(tool="list_skills")
    assert (
        await grpc_code(keyed.stub.Aggregate(aggregate, metadata=key(REPORTER_KEY)))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    async with httpx.AsyncClient(base_url=keyed.http_url) as client:
        answer = await client.post(
            "/route", json={"tool": "list_skills"}, headers={"X-API-Key": VIEWER_KEY}
        )
        status = await client.get("/status", headers={"X-API-Key": VIEWER_KEY})
    assert answer.status_code == 403
    assert answer.json()["message"] == "API key 'viewer' lacks the 'route' scope"
    assert status.status_code == 200


async def test_a_key_limited_to_a_target_reaches_only_that_target(keyed: Running) -> None:
    lab = await keyed.stub.Route(
        pb.RouteRequest(tool="list_skills", target="odoo_lab"), metadata=key(REPORTER_KEY)
    )
    assert lab.routing.target == "odoo_lab"
    pinned_prod = pb.RouteRequest(tool="list_skills", target="odoo_prod")
    assert (
        await grpc_code(keyed.stub.Route(pinned_prod, metadata=key(REPORTER_KEY)))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    # Routed, not pinned: the default target (odoo_prod) is out of reach, the lab answers.
    routed = await keyed.stub.Route(pb.RouteRequest(tool="list_skills"), metadata=key(REPORTER_KEY))
    assert routed.routing.target == "odoo_lab"
    assert routed.routing.failover is False
    # Finance SSC must be answered from production, which this key may not reach.
    finance = pb.RouteRequest(query="Show recent expenses")
    finance.context.update({"finance-ssc": True})
    async with httpx.AsyncClient(base_url=keyed.http_url) as client:
        answer = await client.post(
            "/route",
            json={"query": "Show recent expenses", "context": {"finance-ssc": True}},
            headers={"X-API-Key": REPORTER_KEY},
        )
    assert answer.status_code == 403
    assert "may not reach odoo_prod" in answer.json()["message"]
    assert (
        await grpc_code(keyed.stub.Route(finance, metadata=key(REPORTER_KEY)))
        == grpc.StatusCode.PERMISSION_DENIED
    )


async def test_an_admin_key_has_every_scope(keyed: Running) -> None:
    answer = await keyed.stub.Aggregate(
        pb.AggregateRequest(tool="list_skills"), metadata=key(OPS_KEY)
    )
    assert sorted(answer.aggregation.targets) == ["odoo_lab", "odoo_prod"]


async def test_two_key_headers_in_one_request_are_a_400(keyed: Running) -> None:
    async with httpx.AsyncClient(base_url=keyed.http_url) as client:
        twice = await client.post(
            "/route",
            json={"tool": "list_skills"},
            headers=[("X-API-Key", OPS_KEY), ("X-API-Key", VIEWER_KEY)],
        )
        both_spellings = await client.get(
            "/status", headers={"X-API-Key": OPS_KEY, "Grpc-Metadata-X-Api-Key": OPS_KEY}
        )
    assert (twice.status_code, both_spellings.status_code) == (400, 400)
    assert twice.json()["message"] == "header X-API-Key: given more than once"
    metadata = (("x-api-key", OPS_KEY), ("x-api-key", VIEWER_KEY))
    assert (
        await grpc_code(keyed.stub.Status(pb.StatusRequest(), metadata=metadata))
        == grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_refusals_are_counted_by_reason_logged_sparingly_and_never_recorded(
    keyed: Running, caplog: pytest.LogCaptureFixture
) -> None:
    before = await keyed.stub.Status(pb.StatusRequest(), metadata=key(OPS_KEY))
    with caplog.at_level(logging.WARNING, logger="coordinator.auth"):
        async with httpx.AsyncClient(base_url=keyed.http_url) as client:
            for _ in range(40):
                refused = await client.post(
                    "/route", json={"tool": "list_skills"}, headers={"X-API-Key": "nope"}
                )
                assert refused.status_code == 401
            denied = await client.post(
                "/route", json={"tool": "list_skills"}, headers={"X-API-Key": VIEWER_KEY}
            )
            assert denied.status_code == 403
            # Routed (not named) to a target the key may not reach: refused the same way.
            out_of_reach = await client.post(
                "/route",
                json={"query": "Show recent expenses", "context": {"finance-ssc": True}},
                headers={"X-API-Key": REPORTER_KEY},
            )
            assert out_of_reach.status_code == 403
            metrics = (await client.get("/metrics")).text
    after = await keyed.stub.Status(pb.StatusRequest(), metadata=key(OPS_KEY))

    refusals = {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "mcpc_refusals"
        for sample in family.samples
        if sample.name == "mcpc_refusals_total"
    }
    assert refusals == {"invalid_key": 40.0, "missing_scope": 1.0, "target_not_allowed": 1.0}
    # The refusal log writes a few lines a second, not one per request (test_refusal_log.py).
    lines = [r for r in caplog.records if r.name == "coordinator.auth"]
    assert 1 <= len(lines) < 41
    assert all("nope" not in r.getMessage() for r in lines)
    # No usage row, and no request counted, for a refused call.
    assert after.usage.queued + after.usage.written == before.usage.queued + before.usage.written
    assert after.requests.get("http/Route", 0) == before.requests.get("http/Route", 0)


async def test_decision_logs_and_metric_labels_carry_the_key_id_never_the_key(
    keyed: Running, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="coordinator.decisions"):
        await keyed.stub.Route(
            pb.RouteRequest(tool="list_skills", target="odoo_lab"), metadata=key(REPORTER_KEY)
        )
    [line] = [r for r in caplog.records if r.name == "coordinator.decisions"]
    assert line.__dict__["api_key_id"] == "reporter"
    async with httpx.AsyncClient(base_url=keyed.http_url) as client:
        metrics = (await client.get("/metrics")).text
    assert 'mcpc_requests_by_key_total{key="reporter"} 1.0' in metrics
    assert REPORTER_KEY not in metrics


DASHBOARD_KEY = "dashboard-key-only-that-scope-0123456789"
ROUTE_KEY = "route-key-only-that-scope-0123456789ab"


@pytest.fixture
async def narrow(shared_prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    """The keys of `keyed`, and two with one scope each: `dashboard`, `route`."""
    keys = (
        *KEYS,
        ApiKeyConfig(id="screen", hash=hash_key(DASHBOARD_KEY), scopes=("dashboard",)),
        ApiKeyConfig(id="router", hash=hash_key(ROUTE_KEY), scopes=("route",)),
    )
    async for item in keyed_coordinator(shared_prod, shared_lab, api_keys=keys):
        yield item


async def test_a_dashboard_key_reads_what_the_dashboard_shows_and_a_route_key_does_not(
    narrow: Running,
) -> None:
    async with httpx.AsyncClient(base_url=narrow.http_url) as client:
        # The dashboard page asks for both on every refresh.
        usage = await client.get("/usage", headers={"X-API-Key": DASHBOARD_KEY})
        status = await client.get("/status", headers={"X-API-Key": DASHBOARD_KEY})
        refused = await client.get("/usage", headers={"X-API-Key": ROUTE_KEY})
        refused_status = await client.get("/status", headers={"X-API-Key": ROUTE_KEY})
        routed = await client.post(
            "/route", json={"tool": "list_skills"}, headers={"X-API-Key": DASHBOARD_KEY}
        )
    assert (usage.status_code, status.status_code) == (200, 200)
    assert set(status.json()["targets"]) == {"odoo_prod", "odoo_lab"}
    assert (refused.status_code, refused_status.status_code) == (403, 403)
    assert refused.json()["message"] == "API key 'router' lacks the 'status' scope"
    assert routed.status_code == 403
    await narrow.stub.Status(pb.StatusRequest(), metadata=key(DASHBOARD_KEY))
    await narrow.stub.Usage(pb.UsageRequest(window_seconds=900), metadata=key(DASHBOARD_KEY))
    assert (
        await grpc_code(narrow.stub.Usage(pb.UsageRequest(), metadata=key(ROUTE_KEY)))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        await grpc_code(narrow.stub.Status(pb.StatusRequest(), metadata=key(ROUTE_KEY)))
        == grpc.StatusCode.PERMISSION_DENIED
    )


async def test_two_keys_in_one_mcp_request_are_a_400(keyed: Running) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    base = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2025-11-25",
    }
    twice = {
        "two X-API-Key": [("X-API-Key", VIEWER_KEY), ("X-API-Key", OPS_KEY)],
        "X-API-Key and Bearer": [("X-API-Key", VIEWER_KEY), ("Authorization", f"Bearer {OPS_KEY}")],
        "two Authorization": [
            ("Authorization", f"Bearer {VIEWER_KEY}"),
            ("Authorization", f"Bearer {OPS_KEY}"),
        ],
    }
    async with httpx.AsyncClient(base_url=keyed.http_url) as client:
        answers = {
            case: await client.post("/mcp", json=body, headers=[*base.items(), *keys])
            for case, keys in twice.items()
        }
        bearer = await client.post(
            "/mcp", json=body, headers={**base, "Authorization": f"Bearer {VIEWER_KEY}"}
        )
    messages = {case: answer.json()["error"]["message"] for case, answer in answers.items()}
    assert {case: answer.status_code for case, answer in answers.items()} == dict.fromkeys(
        twice, 400
    )
    assert messages == {
        "two X-API-Key": "header X-API-Key: given more than once",
        "X-API-Key and Bearer": (
            "header Authorization: a Bearer key and X-API-Key: send the key once"
        ),
        "two Authorization": "header Authorization: given more than once",
    }
    # One key, as a Bearer token: the door reads it (this one lacks the mcp scope).
    assert bearer.status_code == 403
