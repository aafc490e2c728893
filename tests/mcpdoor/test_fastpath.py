"""The fast path for plain tools/call (2026-07-28, and on a 2025-11-25 session): the same
answers as the SDK path, it never takes a request it is not sure about, and a host that
goes away (2026-07-28) or cancels (2025-11-25) cancels the upstream call."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import anyio
import httpx
import pytest
from mcp.server.streamable_http import StreamableHTTPServerTransport

from coordinator.mcpdoor.fastpath import cancelled_request, plain_session_call, plain_tools_call
from coordinator.mcpdoor.sessions import OpenSessions
from tests.integration.conftest import API_KEY, Running
from tests.mcpdoor.support import open_session, session_headers
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


# ---------------------------------------------------------------- 2025-11-25 sessions


def session_call(name: str, arguments: dict[str, Any], request_id: int, **meta: Any) -> Any:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if meta:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def test_only_plain_session_calls_are_taken() -> None:
    assert plain_session_call(session_call("list_skills", {}, 1))
    assert plain_session_call(session_call("list_skills", {}, 1, **{"mcp-coordinator/target": "x"}))
    refused = [
        session_call("list_skills", {}, 1, progressToken=1),  # progress needs the SDK's stream
        session_call("list_skills", {}, 1, **{"io.modelcontextprotocol/related": "x"}),
        {**session_call("list_skills", {}, 1), "method": "tools/list"},
        session_call("list_skills", {}, [1]),  # type: ignore[arg-type]
        {**session_call("list_skills", {}, 1), "extra": 1},
    ]
    for message in refused:
        assert not plain_session_call(message)
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 4}}
    assert cancelled_request(cancel) == 4
    assert cancelled_request({**cancel, "params": {"requestId": True}}) is None
    assert cancelled_request(session_call("list_skills", {}, 4)) is None


@pytest.mark.slow
async def test_a_session_call_is_answered_as_json_the_way_the_sdk_answers_it(
    coordinator: Running,
) -> None:
    url = f"{coordinator.http_url}/mcp"
    async with httpx.AsyncClient() as http:
        session = await open_session(http, url)
        sent = session_headers(session)
        await http.post(url, json=session_call("list_skills", {}, 1), headers=sent)  # the cache
        fast = await http.post(url, json=session_call("list_skills", {}, 2), headers=sent)
        # A progress token sends the same call through the SDK's session transport.
        with_progress = session_call("list_skills", {}, 3, progressToken="p")
        sdk = await http.post(url, json=with_progress, headers=sent)
        unknown = await http.post(url, json=session_call("nope", {}, 4), headers=sent)
        elsewhere = await http.post(
            url, json=session_call("list_skills", {}, 5), headers=session_headers("no-such-session")
        )
    assert fast.headers["content-type"] == "application/json"
    assert fast.headers["mcp-session-id"] == session
    assert sdk.headers["content-type"].startswith("text/event-stream")
    fast_result = fast.json()["result"]
    sdk_result = _sdk_message(sdk)["result"]
    for result in (fast_result, sdk_result):
        result["_meta"]["mcp-coordinator/routing"]["attempts"][0]["latency_ms"] = 0
    assert fast_result == sdk_result
    assert "resultType" not in fast_result  # a 2026-07-28 field, not on this revision's wire
    assert unknown.status_code == 200
    assert unknown.json()["error"]["code"] == -32602
    assert elsewhere.status_code == 404  # the SDK answers a session it does not hold


@pytest.mark.slow
async def test_a_cancelled_notification_cancels_a_session_call_upstream(
    with_everything: Running,
) -> None:
    service = with_everything.coordinator.service
    assert service is not None
    url = f"{with_everything.http_url}/mcp"
    name = "trigger-long-running-operation"
    async with httpx.AsyncClient(timeout=30) as http:
        session = await open_session(http, url)
        sent = session_headers(session)
        await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=sent)
        body = session_call(name, {"duration": 20, "steps": 2}, 7)
        call = asyncio.create_task(http.post(url, json=body, headers=sent))
        for _ in range(500):
            if service.status().targets["everything"].in_flight == 1:
                break
            await asyncio.sleep(0.01)
        assert service.status().targets["everything"].in_flight == 1
        cancel = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": 7, "reason": "the user gave up"},
        }
        notice = await http.post(url, json=cancel, headers=sent)
        answer = await asyncio.wait_for(call, 10)
    assert notice.status_code == 202
    assert answer.json() == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32800, "message": "Request cancelled"},
    }
    for _ in range(500):
        if service.status().targets["everything"].in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert service.status().targets["everything"].in_flight == 0


async def test_a_held_session_does_not_time_out_until_its_last_request_ends() -> None:
    transport = StreamableHTTPServerTransport(mcp_session_id="s1", idle_timeout=60)
    transport.idle_scope = idle = anyio.CancelScope(deadline=anyio.current_time() + 60)
    with OpenSessions.held(transport):
        assert idle.deadline == math.inf
        with OpenSessions.held(transport):
            assert idle.deadline == math.inf
        assert idle.deadline == math.inf  # the outer request is still in flight
    assert anyio.current_time() + 59 < idle.deadline <= anyio.current_time() + 60


@pytest.mark.slow
async def test_a_foreign_origin_or_host_is_refused_on_both_fast_paths(coordinator: Running) -> None:
    """On a loopback address the door refuses what DNS rebinding would send; the fast
    path leaves such requests to the SDK, which answers 403."""
    url = f"{coordinator.http_url}/mcp"
    async with httpx.AsyncClient() as http:
        session = await open_session(http, url)
        await http.post(url, json=tools_call("list_skills", {}), headers=headers("list_skills"))
        foreign = {"Origin": "http://evil.example"}
        rebound = {"Host": "evil.example"}
        answers = [
            await http.post(url, json=tools_call("list_skills", {}), headers={**h, **extra})
            for h in [headers("list_skills")]
            for extra in (foreign, rebound)
        ] + [
            await http.post(url, json=session_call("list_skills", {}, 9), headers={**h, **extra})
            for h in [session_headers(session)]
            for extra in (foreign, rebound)
        ]
    assert [answer.status_code for answer in answers] == [403, 421, 403, 421]


def test_an_sdk_whose_session_table_moved_sends_session_calls_down_its_own_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class MovedTable:  # what a later SDK release could look like to this module
        pass

    sessions = OpenSessions(MovedTable())  # type: ignore[arg-type]
    assert not sessions.usable
    assert sessions.find("any-session") is None
    assert "take the SDK's path" in caplog.text
