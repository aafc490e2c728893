"""The fast path for plain 2026-07-28 tools/call: the same answers as the SDK path,
it never takes a request it is not sure about, and a host that goes away cancels."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from coordinator.mcpdoor.fastpath import plain_tools_call
from tests.integration.conftest import API_KEY, Running
from tests.mcpdoor.test_everything import with_everything

__all__ = ["with_everything"]

ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def tools_call(name: str, arguments: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": {**ENVELOPE, **meta}},
    }


def headers(name: str) -> dict[str, str]:
    return {
        "X-API-Key": API_KEY,
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
    }


def test_only_plain_tools_calls_are_taken() -> None:
    plain = tools_call("list_skills", {})
    assert plain_tools_call(json.dumps(plain).encode(), "list_skills") == plain
    refused = [
        tools_call("list_skills", {}, progressToken=1),  # progress needs the SDK's stream
        tools_call("list_skills", {}, **{"io.modelcontextprotocol/logLevel": "info"}),
        {**plain, "method": "tools/list"},
        {**plain, "id": True},
        {**plain, "extra": 1},
        {**plain, "params": {**plain["params"], "_meta": {}}},  # no envelope
    ]
    for message in refused:
        assert plain_tools_call(json.dumps(message).encode(), "list_skills") is None
    assert plain_tools_call(json.dumps(plain).encode(), "other_name") is None  # Mcp-Name
    assert plain_tools_call(b"{not json", "list_skills") is None


@pytest.mark.slow
async def test_fast_and_sdk_paths_answer_alike(coordinator: Running) -> None:
    url = f"{coordinator.http_url}/mcp"
    plain, sent = tools_call("list_skills", {}), headers("list_skills")
    # A progress token sends the same call through the SDK's path.
    with_progress = tools_call("list_skills", {}, progressToken="p")
    async with httpx.AsyncClient() as http:
        await http.post(url, json=plain, headers=sent)  # lists the tools; fills the cache
        fast = await http.post(url, json=plain, headers=sent)
        sdk = await http.post(url, json=with_progress, headers=sent)
        unknown = await http.post(url, json=tools_call("nope", {}), headers=headers("nope"))
    assert fast.headers["content-type"] == "application/json"
    fast_result = fast.json()["result"]
    sdk_result = _sdk_message(sdk)["result"]
    for result in (fast_result, sdk_result):
        result["_meta"]["mcp-coordinator/routing"]["attempts"][0]["latency_ms"] = 0
    assert fast_result == sdk_result
    assert fast_result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcp-coordinator"
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == -32602


def _sdk_message(response: httpx.Response) -> dict[str, Any]:
    if response.headers["content-type"].startswith("application/json"):
        return dict(response.json())
    data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
    return dict(json.loads(data[-1]))


@pytest.mark.slow
async def test_a_host_that_goes_away_cancels_the_upstream_call(with_everything: Running) -> None:
    service = with_everything.coordinator.service
    assert service is not None
    name = "trigger-long-running-operation"
    body = tools_call(name, {"duration": 20, "steps": 2})
    async with httpx.AsyncClient() as http:
        call = asyncio.create_task(
            http.post(f"{with_everything.http_url}/mcp", json=body, headers=headers(name))
        )
        for _ in range(500):
            if service.status().targets["everything"].in_flight == 1:
                break
            await asyncio.sleep(0.01)
        assert service.status().targets["everything"].in_flight == 1
        call.cancel()  # closes the connection
        with pytest.raises(asyncio.CancelledError):
            await call
    for _ in range(500):
        if service.status().targets["everything"].in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert service.status().targets["everything"].in_flight == 0
