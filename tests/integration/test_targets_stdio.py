"""stdio targets: a sample server as the coordinator's child process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from typing import Any

import pytest

from coordinator.targets import (
    McpErrorResponse,
    StdioTarget,
    TargetTimeout,
    TargetUnavailable,
    open_target,
)
from tests.support.mcp_servers import children_of, stdio_target_config

pytestmark = pytest.mark.slow


def structured(result: dict[str, Any]) -> dict[str, Any]:
    content = result["structuredContent"]
    assert isinstance(content, dict)
    return content


def stdio(target: object) -> StdioTarget:
    assert isinstance(target, StdioTarget)
    return target


async def wait_until_gone(pid: int, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while pid in children_of():
        assert time.monotonic() < deadline, f"process {pid} is still running"
        await asyncio.sleep(0.02)


async def test_stdio_round_trip_tools_and_errors() -> None:
    async with open_target(stdio_target_config("odoo_lab", "lab")) as target:
        assert target.transport == "stdio"
        assert stdio(target).pid is None  # started by the first request
        result = await target.request(
            "tools/call", {"name": "query", "arguments": {"query": "skills"}}, timeout=20
        )
        data = structured(result)
        assert (data["server"], data["environment"], data["kind"]) == ("odoo_lab", "lab", "skills")
        assert target.protocol_version == "2025-11-25"
        tools = await target.list_tools()
        assert tools["list_skills"].read_only
        assert not tools["create_record"].read_only
        with pytest.raises(McpErrorResponse) as caught:
            await target.request(
                "tools/call", {"name": "get_record", "arguments": {"model": "x", "record_id": 1}}
            )
        assert caught.value.code == -32602
        failed = await target.request(
            "tools/call", {"name": "get_record", "arguments": {"model": "hr.skill", "record_id": 7}}
        )
        assert failed["isError"] is True


async def test_stdio_concurrent_requests() -> None:
    async with open_target(stdio_target_config()) as target:

        async def ask(i: int) -> dict[str, Any]:
            arguments = {"query": "expenses", "context": {"i": i}}
            return await target.request(
                "tools/call", {"name": "query", "arguments": arguments}, timeout=20
            )

        results = await asyncio.gather(*(ask(i) for i in range(32)))
        assert [structured(r)["context"] for r in results] == [{"i": i} for i in range(32)]
        assert stdio(target).starts == 1


async def test_killed_child_fails_in_flight_then_restarts() -> None:
    async with open_target(stdio_target_config()) as target:
        await target.request("tools/call", {"name": "count_calls", "arguments": {}}, timeout=20)
        pid = stdio(target).pid
        assert pid is not None
        slow = asyncio.create_task(
            target.request("tools/call", {"name": "slow", "arguments": {"seconds": 30}}, timeout=30)
        )
        await asyncio.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(TargetUnavailable) as caught:
            await slow
        assert caught.value.kind == "closed"  # at once: not a TargetTimeout after 30 s
        assert caught.value.may_have_run is True
        # The next request starts a new child (a fresh server: its counters start again).
        result = await target.request(
            "tools/call", {"name": "count_calls", "arguments": {}}, timeout=20
        )
        assert structured(result)["tool_calls"] == 1
        assert stdio(target).pid not in (None, pid)
        assert stdio(target).starts == 2
        await wait_until_gone(pid)


async def test_timeout_leaves_the_child_usable() -> None:
    async with open_target(stdio_target_config()) as target:
        await target.request("tools/call", {"name": "count_calls", "arguments": {}}, timeout=20)
        start = time.monotonic()
        with pytest.raises(TargetTimeout):
            await target.request(
                "tools/call", {"name": "slow", "arguments": {"seconds": 5}}, timeout=0.3
            )
        assert time.monotonic() - start >= 0.29
        result = await target.request(
            "tools/call", {"name": "count_calls", "arguments": {}}, timeout=5
        )
        assert structured(result)["tool_calls"] >= 2
        assert stdio(target).starts == 1


async def test_close_leaves_no_orphan_processes() -> None:
    before = set(children_of())
    target = open_target(stdio_target_config())
    async with target:
        await target.request("tools/call", {"name": "count_calls", "arguments": {}}, timeout=20)
        pid = stdio(target).pid
        assert pid in children_of()
    assert pid not in children_of()
    assert set(children_of()) <= before
    with pytest.raises(TargetUnavailable) as caught:
        await target.request("tools/call", {"name": "count_calls", "arguments": {}})
    assert caught.value.kind == "closed"


async def test_command_that_cannot_start_is_refused() -> None:
    config = stdio_target_config(command="/nonexistent/mcp-server", args=())
    async with open_target(config) as target:
        with pytest.raises(TargetUnavailable) as caught:
            await target.request("tools/list", {}, timeout=5)
        assert caught.value.kind == "refused"
        assert caught.value.may_have_run is False


async def test_child_that_exits_at_once_is_closed_and_backed_off() -> None:
    config = stdio_target_config(command=sys.executable, args=("-c", "import sys; sys.exit(3)"))
    async with open_target(config) as target:
        with pytest.raises(TargetUnavailable) as caught:
            await target.request("tools/list", {}, timeout=5)
        assert caught.value.kind == "closed"
        start = time.monotonic()
        with pytest.raises(TargetUnavailable):
            await target.request("tools/list", {}, timeout=5)
        assert time.monotonic() - start >= 0.09  # the second start waited for the backoff


async def test_stderr_goes_to_logging(caplog: pytest.LogCaptureFixture) -> None:
    script = (
        "import sys; print('hello from the child', file=sys.stderr, flush=True); sys.stdin.read()"
    )
    config = stdio_target_config(command=sys.executable, args=("-c", script))
    caplog.set_level(logging.INFO, logger="coordinator.targets.stdio")
    async with open_target(config) as target:
        with pytest.raises(TargetTimeout):
            await target.request("tools/list", {}, timeout=0.5)
    assert any("hello from the child" in record.getMessage() for record in caplog.records)


async def test_secrets_are_not_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COORDINATOR_API_KEY", "s3cret")
    script = (
        "import json, os, sys\n"
        "for line in sys.stdin:\n"
        "    msg = json.loads(line)\n"
        "    if 'id' not in msg: continue\n"
        "    info = {'name': 'env', 'version': '0'}\n"
        "    result = {'protocolVersion': '2025-11-25', 'capabilities': {}, 'serverInfo': info}\n"
        "    if msg['method'] != 'initialize':\n"
        "        keys = ('COORDINATOR_API_KEY', 'EXTRA')\n"
        "        result = {'env': {k: v for k, v in os.environ.items() if k in keys}}\n"
        "    print(json.dumps({'jsonrpc': '2.0', 'id': msg['id'], 'result': result}), flush=True)\n"
    )
    config = stdio_target_config(command=sys.executable, args=("-c", script), env={"EXTRA": "yes"})
    async with open_target(config) as target:
        result = await target.request("env/show", {}, timeout=10)
    assert result == {"env": {"EXTRA": "yes"}}


async def test_tools_list_changed_notification_refreshes_the_cache() -> None:
    async with open_target(stdio_target_config()) as target:
        heard: list[str] = []
        target.add_notification_listener(lambda _t, method, _p: heard.append(method))
        before = await target.list_tools(timeout=20)
        assert "extra_tool" not in before
        await target.request(
            "tools/call", {"name": "add_tool", "arguments": {"tool_name": "extra_tool"}}
        )
        deadline = time.monotonic() + 5
        while "notifications/tools/list_changed" not in heard:
            assert time.monotonic() < deadline, "no tools/list_changed notification"
            await asyncio.sleep(0.02)
        assert "extra_tool" in await target.list_tools()


async def test_child_that_never_answers_the_handshake_times_out_on_time() -> None:
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    config = stdio_target_config(command=sys.executable, args=("-c", script))
    before = set(children_of())  # e.g. sample servers shared by the session
    async with open_target(config) as target:
        with pytest.raises(TargetTimeout) as caught:
            await target.request("tools/list", {}, timeout=0.5)
        assert "no answer within 0.5s" in str(caught.value)
        assert caught.value.may_have_run is False  # only the handshake was sent
    deadline = time.monotonic() + 5
    while set(children_of()) - before:
        assert time.monotonic() < deadline, f"left behind: {children_of()}"
        await asyncio.sleep(0.05)


async def test_large_result_over_stdio() -> None:
    async with open_target(stdio_target_config()) as target:
        size = 3 * 1024 * 1024
        result = await target.request(
            "tools/call", {"name": "blob", "arguments": {"size": size}}, timeout=20
        )
        assert len(structured(result)["data"]) == size


async def test_a_target_without_tools_is_not_asked_for_them_on_every_call() -> None:
    config = stdio_target_config(
        "docs", command=sys.executable, args=("-m", "tests.support.toolless_server")
    )
    async with open_target(config) as target:
        listed = await target.request("resources/list", timeout=20)
        assert [r["uri"] for r in listed["resources"]] == ["docs://readme"]
        asked: list[str] = []
        real_request = target.request

        async def counting_request(method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
            asked.append(method)
            return await real_request(method, *args, **kwargs)

        target.request = counting_request  # type: ignore[method-assign]
        assert await target.list_tools(timeout=10) == {}
        assert await target.list_tools(timeout=10) == {}
        assert target.tools_cached == {}
        assert asked == ["tools/list"]  # -32601 once, then the empty list is kept


async def test_stdio_speaks_2026_07_28_without_a_handshake() -> None:
    config = stdio_target_config("odoo_lab", "lab", protocol="2026-07-28")
    async with open_target(config) as target:
        result = await target.request(
            "tools/call", {"name": "query", "arguments": {"query": "skills"}}, timeout=20
        )
        assert structured(result)["kind"] == "skills"
        assert target.protocol_version == "2026-07-28"
