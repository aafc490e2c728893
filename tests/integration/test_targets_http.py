"""HTTP targets against real sample servers (subprocesses): both protocol generations,
JSON and SSE replies, sessions, errors and outages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from coordinator.config import TargetConfig
from coordinator.targets import (
    HttpTarget,
    McpErrorResponse,
    Target,
    TargetTimeout,
    TargetUnavailable,
    ToolInfo,
    open_target,
)
from tests.support.mcp_servers import SampleServer, free_port, sample_server

pytestmark = pytest.mark.slow

CALL_QUERY = {
    "name": "query",
    "arguments": {"query": "list expenses", "context": {"finance-ssc": True}},
}


def _started(server: SampleServer) -> Iterator[SampleServer]:
    asyncio.run(server.start())
    try:
        yield server
    finally:
        asyncio.run(server.stop())


@pytest.fixture(scope="module")
def both_json() -> Iterator[SampleServer]:
    """Serves both generations, JSON replies (shared by the read-only tests of this module)."""
    yield from _started(
        SampleServer("odoo_prod", "production", protocol="both", json_response=True)
    )


@pytest.fixture(scope="module")
def both_sse() -> Iterator[SampleServer]:
    yield from _started(
        SampleServer("odoo_prod", "production", protocol="both", json_response=False)
    )


@pytest.fixture(scope="module")
def legacy_only() -> Iterator[SampleServer]:
    yield from _started(SampleServer("odoo_lab", "lab", protocol="2025-11-25", json_response=True))


@pytest.fixture(scope="module")
def modern_only() -> Iterator[SampleServer]:
    yield from _started(SampleServer("odoo_lab", "lab", protocol="2026-07-28", json_response=False))


def structured(result: dict[str, Any]) -> dict[str, Any]:
    content = result["structuredContent"]
    assert isinstance(content, dict)
    return content


def http(target: Target) -> HttpTarget:
    assert isinstance(target, HttpTarget)
    return target


@pytest.mark.parametrize("protocol", ["auto", "2026-07-28", "2025-11-25"])
@pytest.mark.parametrize("replies", ["json", "sse"])
async def test_tools_call_each_generation_and_reply_format(
    protocol: str, replies: str, both_json: SampleServer, both_sse: SampleServer
) -> None:
    server = both_json if replies == "json" else both_sse
    async with open_target(server.target_config(protocol=protocol)) as target:
        assert target.transport == "http"
        assert target.protocol_version is None  # connects lazily
        result = await target.request("tools/call", CALL_QUERY, timeout=5)
        data = structured(result)
        assert data["server"] == "odoo_prod"
        assert data["environment"] == "production"
        assert data["context"] == {"finance-ssc": True}
        assert data["kind"] == "expenses"
        assert result["isError"] is False
        expected = "2025-11-25" if protocol == "2025-11-25" else "2026-07-28"
        assert target.protocol_version == expected
        assert (http(target).session_id is not None) == (expected == "2025-11-25")


async def test_auto_falls_back_to_the_handshake_on_a_2025_server(legacy_only: SampleServer) -> None:
    config = TargetConfig(name="odoo_lab", url=legacy_only.url)  # protocol auto
    async with open_target(config) as target:
        result = await target.request("tools/call", CALL_QUERY, timeout=5)
        assert structured(result)["environment"] == "lab"
        assert target.protocol_version == "2025-11-25"
        assert http(target).session_id


async def test_auto_speaks_2026_to_a_modern_only_server(modern_only: SampleServer) -> None:
    config = TargetConfig(name="odoo_lab", url=modern_only.url)
    async with open_target(config) as target:
        result = await target.request("tools/call", CALL_QUERY, timeout=5)
        assert structured(result)["server"] == "odoo_lab"
        assert target.protocol_version == "2026-07-28"
        assert http(target).session_id is None


@pytest.mark.parametrize("protocol", ["2026-07-28", "2025-11-25"])
async def test_concurrent_requests_share_one_session(protocol: str, both_sse: SampleServer) -> None:
    async with open_target(both_sse.target_config(protocol=protocol)) as target:
        await target.request("tools/call", {"name": "count_calls", "arguments": {}})
        session = http(target).session_id

        async def ask(i: int) -> dict[str, Any]:
            arguments = {"query": f"skills #{i}", "context": {"i": i}}
            return await target.request(
                "tools/call", {"name": "query", "arguments": arguments}, timeout=10
            )

        results = await asyncio.gather(*(ask(i) for i in range(64)))
        # Each answer is its own (duplicate JSON-RPC ids on one session would mix them up).
        assert [structured(r)["context"] for r in results] == [{"i": i} for i in range(64)]
        assert http(target).session_id == session


async def test_tool_list_is_cached_with_annotations(both_json: SampleServer) -> None:
    async with open_target(both_json.target_config(tools_ttl=60)) as target:
        assert target.tools_cached is None
        tools = await target.list_tools(timeout=5)
        assert {
            "query",
            "list_expenses",
            "list_skills",
            "get_record",
            "create_record",
            "slow",
            "count_calls",
        } <= set(tools)
        assert isinstance(tools["query"], ToolInfo)
        assert tools["query"].read_only
        assert tools["query"].accepts("context")
        assert tools["query"].accepts("query")
        assert not tools["query"].accepts("nothing")
        assert not tools["create_record"].read_only
        assert tools["create_record"].annotations["destructiveHint"] is False
        assert tools["get_record"].input_schema["properties"]["record_id"]["type"] == "integer"
        assert tools["list_skills"].description == "List employee skills."
        assert target.tools_cached is tools
        assert await target.list_tools() is tools  # from the cache: same object
        target.invalidate_tools()
        again = await target.list_tools()
        assert again is not tools
        assert again == tools


async def test_tool_list_cache_expires_after_ttl(both_json: SampleServer) -> None:
    async with open_target(both_json.target_config(tools_ttl=0.2)) as target:
        first = await target.list_tools()
        assert await target.list_tools() is first
        await asyncio.sleep(0.3)
        assert await target.list_tools() is not first


async def test_cached_tool_list_survives_an_outage_within_ttl() -> None:
    async with (
        sample_server("odoo_prod") as server,
        open_target(server.target_config(tools_ttl=60)) as target,
    ):
        tools = await target.list_tools()
        await server.kill()
        assert await target.list_tools() is tools
        with pytest.raises(TargetUnavailable):
            await target.list_tools(refresh=True, timeout=2)
        assert target.tools_cached is tools


@pytest.mark.parametrize("protocol", ["2026-07-28", "2025-11-25"])
async def test_json_rpc_error_is_an_answer(protocol: str, both_json: SampleServer) -> None:
    async with open_target(both_json.target_config(protocol=protocol)) as target:
        with pytest.raises(McpErrorResponse) as caught:
            await target.request(
                "tools/call", {"name": "get_record", "arguments": {"model": "nope", "record_id": 1}}
            )
        assert caught.value.code == -32602
        assert "nope" in caught.value.message
        assert caught.value.data == {"models": ["hr.expense", "hr.skill", "res.partner"]}
        with pytest.raises(McpErrorResponse) as missing:
            await target.request("resources/read", {"uri": "odoo://odoo_prod/nothing"})
        assert missing.value.code == -32602
        with pytest.raises(McpErrorResponse) as unknown_method:
            await target.request("no/such/method", {})
        assert unknown_method.value.code == -32601


@pytest.mark.parametrize("protocol", ["2026-07-28", "2025-11-25"])
async def test_tool_error_result_is_returned(protocol: str, both_json: SampleServer) -> None:
    async with open_target(both_json.target_config(protocol=protocol)) as target:
        result = await target.request(
            "tools/call",
            {"name": "get_record", "arguments": {"model": "hr.expense", "record_id": 999}},
        )
        assert result["isError"] is True
        assert "999" in result["content"][0]["text"]
        unknown = await target.request("tools/call", {"name": "no_such_tool", "arguments": {}})
        assert unknown["isError"] is True


async def test_resources_and_prompts(both_json: SampleServer) -> None:
    async with open_target(both_json.target_config()) as target:
        listed = await target.request("resources/list", {})
        assert "odoo://odoo_prod/models" in {r["uri"] for r in listed["resources"]}
        read = await target.request("resources/read", {"uri": "odoo://odoo_prod/environment"})
        assert read["contents"][0]["text"] == "odoo_prod serves the production environment"
        prompt = await target.request(
            "prompts/get", {"name": "summarize_expenses", "arguments": {"employee": "Ann"}}
        )
        assert "Ann" in prompt["messages"][0]["content"]["text"]


@pytest.mark.parametrize("protocol", ["2026-07-28", "2025-11-25"])
async def test_mutating_call_runs_exactly_once_per_request(protocol: str) -> None:
    async with (
        sample_server("odoo_lab", "lab") as server,
        open_target(server.target_config(protocol=protocol)) as t,
    ):
        for i in range(3):
            result = await t.request(
                "tools/call",
                {
                    "name": "create_record",
                    "arguments": {"model": "res.partner", "values": {"n": i}},
                },
            )
            assert structured(result)["creates"] == i + 1
        counts = structured(await t.request("tools/call", {"name": "count_calls", "arguments": {}}))
        assert counts["creates"] == 3
        assert counts["tool_calls"] == 4


@pytest.mark.parametrize("protocol", ["2026-07-28", "2025-11-25"])
async def test_configured_headers_are_sent(protocol: str, both_json: SampleServer) -> None:
    config = both_json.target_config(
        protocol=protocol, headers={"Authorization": "Bearer t0k", "X-Tenant": "acme"}
    )
    async with open_target(config) as target:
        for _ in range(2):
            result = await target.request(
                "tools/call", {"name": "request_headers", "arguments": {}}
            )
            assert structured(result)["headers"] == {
                "authorization": "Bearer t0k",
                "x-tenant": "acme",
            }


async def test_expired_session_is_reinitialized_once() -> None:
    server = SampleServer("odoo_prod", protocol="2025-11-25")
    async with server, open_target(server.target_config()) as target:
        await target.request("tools/call", CALL_QUERY, timeout=5)
        first = http(target).session_id
        assert first
        await server.restart()  # same port, the new process knows no session
        result = await target.request(
            "tools/call",
            {"name": "create_record", "arguments": {"model": "res.partner", "values": {}}},
            timeout=5,
        )
        assert structured(result)["creates"] == 1  # ran once, on the new session
        assert http(target).session_id not in (None, first)


@pytest.mark.parametrize("protocol", ["2026-07-28", "2025-11-25"])
async def test_killed_server_is_refused_at_once(protocol: str) -> None:
    async with (
        sample_server("odoo_prod") as server,
        open_target(server.target_config(protocol=protocol)) as target,
    ):
        await target.request("tools/call", CALL_QUERY, timeout=5)
        await server.kill()
        for _ in range(3):  # refused at once: never a TargetTimeout after the 5 s
            with pytest.raises(TargetUnavailable) as caught:
                await target.request("tools/call", CALL_QUERY, timeout=5)
            assert caught.value.kind in ("refused", "reset")
        assert caught.value.kind == "refused"
        assert caught.value.may_have_run is False
        assert caught.value.target == "odoo_prod"


async def test_nothing_listening_is_refused_before_any_session() -> None:
    config = TargetConfig(name="ghost", url=f"http://127.0.0.1:{free_port()}/mcp")
    async with open_target(config) as target:
        with pytest.raises(TargetUnavailable) as caught:
            await target.request("tools/call", CALL_QUERY, timeout=5)
        assert caught.value.kind == "refused"  # at once: not a TargetTimeout after 5 s
        assert caught.value.may_have_run is False
        assert target.protocol_version is None


@pytest.mark.parametrize("protocol", ["2026-07-28", "2025-11-25"])
async def test_frozen_server_times_out_on_time(protocol: str) -> None:
    async with (
        sample_server("odoo_prod") as server,
        open_target(server.target_config(protocol=protocol)) as target,
    ):
        await target.request("tools/call", CALL_QUERY, timeout=5)
        server.freeze()
        try:
            start = time.monotonic()
            with pytest.raises(TargetTimeout) as caught:
                await target.request("tools/call", CALL_QUERY, timeout=0.3)
            assert time.monotonic() - start >= 0.29
            assert "no answer within 0.3s" in str(caught.value)
            assert caught.value.kind == "timeout"
            assert caught.value.may_have_run is True
        finally:
            server.thaw()
        # Thawed, the same target answers again.
        result = await target.request("tools/call", CALL_QUERY, timeout=5)
        assert structured(result)["server"] == "odoo_prod"


async def test_slow_tool_times_out_and_the_target_stays_usable(both_json: SampleServer) -> None:
    async with open_target(both_json.target_config(protocol="2025-11-25")) as target:
        with pytest.raises(TargetTimeout):
            await target.request(
                "tools/call", {"name": "slow", "arguments": {"seconds": 2}}, timeout=0.2
            )
        result = await target.request(
            "tools/call", {"name": "slow", "arguments": {"seconds": 0}}, timeout=5
        )
        assert structured(result)["slept"] == 0


async def test_default_timeout_comes_from_config(both_json: SampleServer) -> None:
    async with open_target(both_json.target_config(timeout=0.2)) as target:
        with pytest.raises(TargetTimeout) as caught:
            await target.request("tools/call", {"name": "slow", "arguments": {"seconds": 2}})
        assert "no answer within 0.2s" in str(caught.value)


async def test_wrong_path_is_an_http_status_error(both_json: SampleServer) -> None:
    config = TargetConfig(name="odoo_prod", url=both_json.url.replace("/mcp", "/nope"))
    async with open_target(config) as target:
        with pytest.raises(TargetUnavailable) as caught:
            await target.request("tools/call", CALL_QUERY, timeout=5)
        assert caught.value.kind == "http_status"
        assert caught.value.status == 404


async def test_closed_target_refuses_requests(both_json: SampleServer) -> None:
    target = open_target(both_json.target_config())
    async with target:
        await target.request("tools/call", CALL_QUERY)
    assert target.closed
    with pytest.raises(TargetUnavailable) as caught:
        await target.request("tools/call", CALL_QUERY)
    assert caught.value.kind == "closed"
    assert caught.value.may_have_run is False


@pytest.mark.parametrize("protocol", ["2026-07-28", "2025-11-25"])
async def test_tools_list_changed_notification_refreshes_the_cache(protocol: str) -> None:
    async with sample_server("odoo_lab", "lab") as server:
        target = http(open_target(server.target_config(protocol=protocol, tools_ttl=600)))
        async with target:
            heard: list[str] = []
            target.add_notification_listener(lambda _t, method, _p: heard.append(method))
            before = await target.list_tools()
            assert "extra_tool" not in before
            # The stream for notifications outside requests (GET / subscriptions/listen).
            await asyncio.wait_for(target.listening.wait(), timeout=5)
            await target.request(
                "tools/call", {"name": "add_tool", "arguments": {"tool_name": "extra_tool"}}
            )
            deadline = time.monotonic() + 5
            while "notifications/tools/list_changed" not in heard:
                assert time.monotonic() < deadline, "no tools/list_changed notification"
                await asyncio.sleep(0.02)
            after = await target.list_tools()
            assert "extra_tool" in after
            result = await target.request("tools/call", {"name": "extra_tool", "arguments": {}})
            assert structured(result)["tool"] == "extra_tool"


@pytest.mark.parametrize("protocol", ["2026-07-28", "2025-11-25"])
@pytest.mark.parametrize("replies", ["json", "sse"])
async def test_large_results(
    protocol: str, replies: str, both_json: SampleServer, both_sse: SampleServer
) -> None:
    server = both_json if replies == "json" else both_sse
    async with open_target(server.target_config(protocol=protocol)) as target:
        size = 3 * 1024 * 1024  # one SSE data line far beyond aiohttp's readline limit
        result = await target.request("tools/call", {"name": "blob", "arguments": {"size": size}})
        assert len(structured(result)["data"]) == size


async def test_auth_failure_during_detection_is_not_taken_for_a_legacy_server() -> None:
    # A server whose endpoint answers 401: the probe fails as unavailable, and nothing is
    # cached about the protocol generation.
    from aiohttp import web

    async def deny(_request: web.Request) -> web.Response:
        return web.json_response({"error": "unauthorized"}, status=401)

    app = web.Application()
    app.router.add_post("/mcp", deny)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        config = TargetConfig(name="locked", url=f"http://127.0.0.1:{port}/mcp")
        async with open_target(config) as target:
            with pytest.raises(TargetUnavailable) as caught:
                await target.request("tools/list", {}, timeout=5)
            assert caught.value.kind == "http_status"
            assert caught.value.status == 401
            assert caught.value.may_have_run is False
            assert http(target).generation is None
    finally:
        await runner.cleanup()


async def test_a_header_mismatch_fetches_the_tool_list_and_retries_once(
    both_json: SampleServer,
) -> None:
    """A tool whose argument must also travel as an `Mcp-Param-*` header, called before
    the tool list is known: the server refuses (-32020), the target learns the header
    from tools/list and sends the call again, once."""
    config = both_json.target_config(protocol="2026-07-28")
    async with open_target(config) as target:
        assert target.tools_cached is None
        result = await target.request(
            "tools/call",
            {"name": "regional_expenses", "arguments": {"region": "EMEA"}},
            timeout=10,
        )
        assert structured(result)["region"] == "EMEA"
        assert target.tools_cached is not None
        assert "regional_expenses" in target.tools_cached
