"""The MCP door at /mcp, driven by the SDK `Client` in both revisions, in front of
the real odoo_prod and odoo_lab samples."""

from __future__ import annotations

import asyncio

import httpx
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError
from mcpcoordinator.v1 import coordinator_pb2 as pb

from tests.integration.conftest import API_KEY, AUTH, Running
from tests.mcpdoor.support import MODES, Mode, call_meta, mcp_client, routing

pytestmark = pytest.mark.slow


def mcp_url(coordinator: Running, query: str = "") -> str:
    return f"{coordinator.http_url}/mcp{query}"


@pytest.mark.parametrize("mode", MODES)
async def test_tools_list_is_the_union_with_shared_tools_listed_once(
    coordinator: Running, mode: Mode
) -> None:
    async with mcp_client(mcp_url(coordinator), mode) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
    # Both samples offer the same tools with the same schemas: each is listed once.
    assert len(names) == len(set(names))
    assert {"query", "list_expenses", "get_record", "create_record"} <= set(names)
    assert "aggregate" in names
    assert not any("__" in name for name in names)


@pytest.mark.parametrize("mode", MODES)
async def test_tool_call_is_routed_by_the_policy_and_says_how(
    coordinator: Running, mode: Mode
) -> None:
    async with mcp_client(mcp_url(coordinator), mode) as client:
        default = await client.call_tool("query", {"query": "expenses"})
        lab = await client.call_tool(
            "query",
            {"query": "expenses"},
            meta=call_meta(context={"migration": True}),
        )
        pinned = await client.call_tool(
            "query", {"query": "expenses"}, meta=call_meta(target="odoo_lab")
        )
    assert default.structured_content is not None
    assert default.structured_content["server"] == "odoo_prod"
    decision = routing(default)
    assert decision["target"] == "odoo_prod"
    assert decision["rule"] == "default"
    assert set(decision) == {
        "target",
        "reason",
        "confidence",
        "rule",
        "failover",
        "cached",
        "stale",
        "attempts",
    }
    assert decision["attempts"][0]["target"] == "odoo_prod"
    assert "latency_ms" in decision["attempts"][0]
    assert lab.structured_content is not None
    assert lab.structured_content["server"] == "odoo_lab"
    assert routing(lab)["rule"] == "context:migration"
    assert routing(pinned)["target"] == "odoo_lab"
    assert routing(pinned)["rule"] == "explicit"


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"X-Coordinator-Context": "oca, development"}, ""),
        ({"X-Coordinator-Target": "odoo_lab"}, ""),
        ({}, "?context=migration"),
        ({}, "?target=odoo_lab"),
    ],
)
async def test_connection_inputs_from_headers_or_url(
    coordinator: Running, headers: dict[str, str], query: str
) -> None:
    async with mcp_client(mcp_url(coordinator, query), "legacy", headers=headers) as client:
        result = await client.call_tool("list_expenses", {})
        # The call's own _meta wins over the connection's inputs.
        overridden = await client.call_tool("list_expenses", {}, meta=call_meta(target="odoo_prod"))
    assert routing(result)["target"] == "odoo_lab"
    assert routing(overridden)["target"] == "odoo_prod"


@pytest.mark.parametrize("mode", MODES)
async def test_resources_and_prompts_are_merged_and_read_where_listed(
    coordinator: Running, mode: Mode
) -> None:
    async with mcp_client(mcp_url(coordinator), mode) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        lab_models = await client.read_resource("odoo://odoo_lab/models")
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        prompt = await client.get_prompt("summarize_expenses", {"employee": "Alice Martin"})
        with pytest.raises(MCPError) as missing:
            await client.read_resource("odoo://nowhere/models")
    assert {"odoo://odoo_prod/models", "odoo://odoo_lab/models"} <= uris
    assert routing(lab_models)["target"] == "odoo_lab"
    assert '"server": "odoo_lab"' in getattr(lab_models.contents[0], "text", "")
    assert prompts == ["summarize_expenses"]
    assert "Alice Martin" in getattr(prompt.messages[0].content, "text", "")
    assert missing.value.error.code == -32602  # SEP-2164
    assert "odoo://nowhere/models" in missing.value.error.message


@pytest.mark.parametrize("mode", MODES)
async def test_a_tool_error_stays_a_result_and_an_unknown_tool_is_invalid_params(
    coordinator: Running, mode: Mode
) -> None:
    async with mcp_client(mcp_url(coordinator), mode) as client:
        failed = await client.call_tool("get_record", {"model": "hr.expense", "record_id": 999})
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("no_such_tool", {})
        with pytest.raises(MCPError) as bad_meta:
            await client.call_tool("list_expenses", {}, meta=call_meta(target="nope"))
    assert failed.is_error is True
    assert routing(failed)["attempts"][0]["outcome"] == "error_result"
    assert unknown.value.error.code == -32602
    assert "no_such_tool" in unknown.value.error.message
    assert bad_meta.value.error.code == -32602
    assert "unknown target 'nope'" in bad_meta.value.error.message


@pytest.mark.parametrize("mode", MODES)
async def test_the_aggregate_tool_returns_every_targets_answer(
    coordinator: Running, mode: Mode
) -> None:
    async with mcp_client(mcp_url(coordinator), mode) as client:
        result = await client.call_tool("aggregate", {"query": "skills"})
    assert result.is_error is False
    content = result.structured_content
    assert content is not None
    assert set(content["results"]) == {"odoo_prod", "odoo_lab"}
    assert content["errors"] == {}
    assert content["aggregation"]["succeeded"] == 2


async def test_read_only_answers_are_cached_and_writes_never(coordinator: Running) -> None:
    async with mcp_client(mcp_url(coordinator), "legacy") as client:
        await client.call_tool("list_skills", {})
        again = await client.call_tool("list_skills", {})
        await client.call_tool("create_record", {"model": "res.partner", "values": {"n": 1}})
        write = await client.call_tool(
            "create_record", {"model": "res.partner", "values": {"n": 1}}
        )
    assert routing(again)["cached"] is True
    assert routing(write)["cached"] is False


async def test_the_key_is_required_as_x_api_key_or_bearer(coordinator: Running) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient() as http:
        missing = await http.post(mcp_url(coordinator), json=body, headers=accept)
        wrong = await http.post(
            mcp_url(coordinator), json=body, headers={**accept, "X-API-Key": "wrong"}
        )
    assert missing.status_code == 401
    assert "Bearer" in missing.headers["www-authenticate"]
    assert "missing API key" in missing.json()["error"]["message"]
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == "invalid API key"
    async with mcp_client(
        mcp_url(coordinator), "2026-07-28", headers={"Authorization": f"Bearer {API_KEY}"}
    ) as client:
        assert (await client.call_tool("count_calls", {})).is_error is False


async def test_calls_are_counted_by_door_in_status_and_metrics(coordinator: Running) -> None:
    async with mcp_client(mcp_url(coordinator), "2026-07-28") as client:
        await client.call_tool("count_calls", {})
        await client.list_tools()
    status = await coordinator.stub.Status(pb.StatusRequest(), metadata=AUTH)
    assert status.requests["mcp/tools/call"] >= 1
    assert status.requests["mcp/tools/list"] >= 1
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{coordinator.http_url}/metrics")).text
    assert 'door="mcp"' in metrics


async def test_tools_list_changed_reaches_hosts_of_both_revisions(coordinator: Running) -> None:
    changed: dict[str, asyncio.Event] = {mode: asyncio.Event() for mode in MODES}

    async def on_legacy_message(message: object) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed["legacy"].set()

    async with (
        mcp_client(mcp_url(coordinator), "legacy", message_handler=on_legacy_message) as old,
        mcp_client(mcp_url(coordinator), "2026-07-28") as new,
    ):
        await old.list_tools()
        async with new.listen(tools_list_changed=True) as events:
            await new.call_tool(
                "add_tool",
                {"tool_name": "added_at_run_time"},
                meta=call_meta(target="odoo_prod"),
            )
            await asyncio.wait_for(changed["legacy"].wait(), 10)
            async for event in events:
                changed["2026-07-28"].set()
                assert type(event).__name__ == "ToolsListChanged"
                break
        names = {tool.name for tool in (await old.list_tools()).tools}
    # Only odoo_prod has it now: it keeps its name and is routed there.
    assert changed["2026-07-28"].is_set()
    assert "added_at_run_time" in names
