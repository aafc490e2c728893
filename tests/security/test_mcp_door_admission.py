"""The MCP door admits callers as the other doors do: the same keys, the `mcp` scope, the
key's rate limit, refusals counted and never a usage row."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from coordinator.auth import hash_key
from coordinator.config import ApiKeyConfig, RateLimitConfig
from tests.security.conftest import OPS_KEY, VIEWER_KEY, keyed_coordinator
from tests.support.mcp_servers import SampleServer

LIMITED_KEY = "limited-key-one-request-per-minute-0123"
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2026-07-28",
}


# A key with a per-target limit of one call a minute on odoo_lab, none of its own.
PER_TARGET = ApiKeyConfig(
    id="per-target",
    hash=hash_key(LIMITED_KEY),
    scopes=("mcp",),
    target_rates={"odoo_lab": RateLimitConfig(rate=1 / 60, burst=1)},
)


async def post(client: httpx.AsyncClient, key: str) -> httpx.Response:
    body: dict[str, Any] = {**LIST_TOOLS, "params": {"_meta": ENVELOPE}}
    headers = {**HEADERS, "Mcp-Method": "tools/list", "X-API-Key": key}
    return await client.post("/mcp", json=body, headers=headers)


def tool_call(
    name: str, arguments: dict[str, Any], *, request_id: int, **meta: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """A 2026-07-28 `tools/call` of `name` by LIMITED_KEY: its body and headers."""
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": {**ENVELOPE, **meta}},
    }
    headers = {**HEADERS, "Mcp-Method": "tools/call", "Mcp-Name": name, "X-API-Key": LIMITED_KEY}
    return body, headers


@pytest.mark.slow
async def test_scope_and_rate_limit_apply_to_the_mcp_door(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    limited = ApiKeyConfig(
        id="limited", hash=hash_key(LIMITED_KEY), scopes=("mcp",), rate=1 / 60, burst=1
    )
    keys = (
        ApiKeyConfig(id="ops", hash=hash_key(OPS_KEY), scopes=("admin",)),
        ApiKeyConfig(id="viewer", hash=hash_key(VIEWER_KEY), scopes=("status",)),
        limited,
    )
    async for item in keyed_coordinator(shared_prod, shared_lab, api_keys=keys):
        async with httpx.AsyncClient(base_url=item.http_url) as client:
            allowed = await post(client, OPS_KEY)
            no_scope = await post(client, VIEWER_KEY)
            first = await post(client, LIMITED_KEY)
            second = await post(client, LIMITED_KEY)
            wrong = await post(client, "not-a-key")
            metrics = (await client.get("/metrics")).text
        assert allowed.status_code == 200, allowed.text
        assert no_scope.status_code == 403
        assert no_scope.json()["error"]["message"] == "API key 'viewer' lacks the 'mcp' scope"
        assert first.status_code == 200, first.text
        assert second.status_code == 429
        assert int(second.headers["retry-after"]) >= 1
        assert second.json()["error"]["data"]["retry_after_seconds"] > 0
        assert wrong.status_code == 401
        assert "www-authenticate" in wrong.headers
        refusals = {
            line.split('"')[1]: float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("mcpc_refusals_total{")
        }
        assert refusals["missing_scope"] >= 1
        assert refusals["rate_limited"] >= 1
        assert refusals["invalid_key"] >= 1


@pytest.mark.slow
async def test_the_aggregate_tool_asks_only_the_targets_the_key_may_reach(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    lab_only = ApiKeyConfig(
        id="lab-only", hash=hash_key(LIMITED_KEY), scopes=("mcp",), targets=("odoo_lab",)
    )
    async for item in keyed_coordinator(shared_prod, shared_lab, api_keys=(lab_only,)):
        body, headers = tool_call("aggregate", {"query": "List all skills"}, request_id=2)
        async with httpx.AsyncClient(base_url=item.http_url) as client:
            answer = await client.post("/mcp", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        structured = answer.json()["result"]["structuredContent"]
        assert list(structured["results"]) == ["odoo_lab"]
        assert structured["errors"] == {}


@pytest.mark.slow
async def test_a_call_that_names_its_target_counts_against_the_keys_limit_there(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    async def call(client: httpx.AsyncClient, name: str, **meta: Any) -> httpx.Response:
        arguments = {"query": "List all skills"} if name == "aggregate" else {}
        body, headers = tool_call(name, arguments, request_id=3, **meta)
        return await client.post("/mcp", json=body, headers=headers)

    async for item in keyed_coordinator(shared_prod, shared_lab, api_keys=(PER_TARGET,)):
        async with httpx.AsyncClient(base_url=item.http_url) as client:
            first = await call(client, "list_skills", **{"mcp-coordinator/target": "odoo_lab"})
            second = await call(client, "list_skills", **{"mcp-coordinator/target": "odoo_lab"})
            prod = await call(client, "list_skills", **{"mcp-coordinator/target": "odoo_prod"})
            aggregate = await call(client, "aggregate")
            metrics = (await client.get("/metrics", headers={"X-API-Key": LIMITED_KEY})).text
    assert first.json()["result"]["_meta"]["mcp-coordinator/routing"]["target"] == "odoo_lab"
    error = second.json()["error"]
    assert "rate limit of per-target/odoo_lab exceeded" in error["message"]
    assert error["data"]["status"] == "RESOURCE_EXHAUSTED"
    assert error["data"]["retry_after_seconds"] > 0
    assert prod.json()["result"]["_meta"]["mcp-coordinator/routing"]["target"] == "odoo_prod"
    assert "per-target/odoo_lab" in aggregate.json()["error"]["message"]
    refused = [
        line for line in metrics.splitlines() if line.startswith('mcpc_refusals_total{reason="rate')
    ]
    assert refused
    assert float(refused[0].rsplit(" ", 1)[1]) == 2


@pytest.mark.slow
async def test_a_target_named_by_header_or_query_counts_against_its_limit_too(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    body, headers = tool_call("list_skills", {}, request_id=4)
    async for item in keyed_coordinator(shared_prod, shared_lab, api_keys=(PER_TARGET,)):
        async with httpx.AsyncClient(base_url=item.http_url) as client:
            by_header = await client.post(
                "/mcp", json=body, headers={**headers, "X-Coordinator-Target": "odoo_lab"}
            )
            by_query = await client.post("/mcp?target=odoo_lab", json=body, headers=headers)
    assert by_header.json()["result"]["_meta"]["mcp-coordinator/routing"]["target"] == "odoo_lab"
    assert "rate limit of per-target/odoo_lab exceeded" in by_query.json()["error"]["message"]
