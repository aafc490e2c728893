"""Errors by the protocol at /mcp: the status and JSON-RPC error the spec gives, with a
message that says what is wrong; never a 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from coordinator.config import TargetConfig
from tests.integration.conftest import API_KEY, Running, running, settings_for
from tests.mcpdoor.support import MODES, Mode, call_meta, mcp_client
from tests.support.mcp_servers import SampleServer, free_port

pytestmark = pytest.mark.slow

ACCEPT = "application/json, text/event-stream"
MODERN = "2026-07-28"
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def headers(**extra: str) -> dict[str, str]:
    return {"X-API-Key": API_KEY, "Accept": ACCEPT, "Content-Type": "application/json", **extra}


Request = tuple[dict[str, Any], dict[str, str]]


def modern(method: str, params: dict[str, Any] | None = None) -> Request:
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": method,
        "params": {**(params or {}), "_meta": ENVELOPE},
    }
    return body, headers(**{"MCP-Protocol-Version": MODERN, "Mcp-Method": method})


async def post(coordinator: Running, content: bytes | str, sent: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{coordinator.http_url}/mcp", content=content, headers=sent)


async def test_malformed_json_is_a_parse_error(coordinator: Running) -> None:
    response = await post(coordinator, b'{"jsonrpc": "2.0", "id": 1, "method": ', headers())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


async def test_a_client_that_accepts_neither_json_nor_events_is_refused(
    coordinator: Running,
) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    response = await post(coordinator, body, headers(Accept="text/html"))
    assert response.status_code == 406
    assert "Accept" in response.json()["error"]["message"]


async def test_an_unsupported_protocol_version_names_the_supported_ones(
    coordinator: Running,
) -> None:
    body, sent = modern("tools/list")
    sent["MCP-Protocol-Version"] = "1999-01-01"
    body["params"]["_meta"] = {**ENVELOPE, "io.modelcontextprotocol/protocolVersion": "1999-01-01"}
    response = await post(coordinator, json.dumps(body), sent)
    assert response.status_code == 400
    error = response.json()["error"]
    assert MODERN in json.dumps(error["data"])


async def test_the_body_limit_is_max_request_bytes_as_on_the_other_doors(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(
        shared_prod.target_config(), shared_lab.target_config(), max_request_bytes=64 << 10
    )
    async for item in running(settings):
        query = "x" * (100 << 10)
        body, sent = modern("tools/call", {"name": "query", "arguments": {"query": query}})
        response = await post(item, json.dumps(body), sent)
        assert response.status_code == 413


async def test_an_unknown_session_is_not_found(coordinator: Running) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    response = await post(coordinator, body, headers(**{"Mcp-Session-Id": "no-such-session"}))
    assert response.status_code == 404
    assert "Session not found" in response.json()["error"]["message"]


async def test_an_oversized_body_is_refused_before_it_is_read(coordinator: Running) -> None:
    body, sent = modern("tools/call", {"name": "query", "arguments": {"query": "x" * (5 << 20)}})
    response = await post(coordinator, json.dumps(body), sent)
    assert response.status_code == 413


async def test_unknown_methods_and_bad_params(coordinator: Running) -> None:
    unknown = await post(coordinator, *_dumped(modern("no/such/method")))
    nameless = await post(coordinator, *_dumped(modern("tools/call", {"arguments": {}})))
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == -32601
    assert nameless.status_code == 400
    assert nameless.json()["error"]["code"] == -32602


async def test_a_malformed_deadline_header_names_the_header(coordinator: Running) -> None:
    body, sent = modern("tools/list")
    response = await post(coordinator, json.dumps(body), {**sent, "X-Request-Timeout": "soon"})
    assert response.status_code == 400
    assert "X-Request-Timeout" in response.json()["error"]["message"]


def _dumped(pair: Request) -> tuple[str, dict[str, str]]:
    return json.dumps(pair[0]), pair[1]


@pytest.fixture
async def one_down(shared_prod: SampleServer) -> AsyncIterator[Running]:
    """odoo_prod, and a target nothing listens for."""
    gone = TargetConfig(name="gone", url=f"http://127.0.0.1:{free_port()}/mcp")
    async for item in running(settings_for(shared_prod.target_config(), gone)):
        yield item


@pytest.mark.parametrize("mode", MODES)
async def test_no_target_able_to_answer_is_an_error_naming_the_targets_tried(
    one_down: Running, mode: Mode
) -> None:
    async with mcp_client(f"{one_down.http_url}/mcp", mode) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        with pytest.raises(MCPError) as pinned:
            await client.call_tool("list_expenses", {}, meta=call_meta(target="gone"))
        with pytest.raises(MCPError) as unlisted:
            await client.call_tool("only_on_gone", {})
    assert "list_expenses" in listed  # odoo_prod's tools are there while gone is down
    for error in (pinned.value.error, unlisted.value.error):
        assert error.code == -32603
        assert "gone" in error.message
        assert error.data["status"] == "UNAVAILABLE"
        assert error.data["mcp-coordinator/routing"]["attempts"][0]["target"] == "gone"


@pytest.fixture
async def frozen_lab(shared_prod: SampleServer) -> AsyncIterator[Running]:
    """odoo_prod, and an odoo_lab that stops answering before its tools are ever listed."""
    lab = await SampleServer("odoo_lab", "lab").start()
    lab.freeze()
    settings = settings_for(
        shared_prod.target_config(),
        lab.target_config(),
        probe_interval=0.05,
        probe_timeout=0.05,
        per_try_timeout=60.0,
        request_timeout=60.0,
    )
    try:
        async for item in running(settings):
            yield item
    finally:
        lab.thaw()
        await lab.stop()


async def test_a_target_known_to_be_down_does_not_hold_up_the_lists(frozen_lab: Running) -> None:
    service = frozen_lab.coordinator.service
    assert service is not None
    for _ in range(1000):  # until the health probes have found it
        if not service.is_reachable("odoo_lab"):
            break
        await asyncio.sleep(0.01)
    assert not service.is_reachable("odoo_lab")
    async with mcp_client(f"{frozen_lab.http_url}/mcp", "legacy") as client:
        # Asking the frozen target would take the 60 s per-try timeout; the guard is far below.
        tools = await asyncio.wait_for(client.list_tools(), 20)
        prompts = await asyncio.wait_for(client.list_prompts(), 20)
    assert "list_expenses" in {tool.name for tool in tools.tools}
    assert [p.name for p in prompts.prompts] == ["summarize_expenses"]
