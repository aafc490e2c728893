"""`mcp-coordinator stdio` logs every routing decision on stderr by default, as `serve` does,
and keeps stdout for the protocol alone."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import pytest

from tests.support.mcp_servers import REPO_ROOT, SampleServer

pytestmark = pytest.mark.slow


async def test_a_tool_call_over_stdio_writes_its_decision_line_on_stderr_only(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LOG_LEVEL"}  # the default level
    env |= {"ODOO_PROD_MCP_URL": shared_prod.url, "ODOO_LAB_MCP_URL": shared_lab.url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "coordinator",
        "stdio",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(REPO_ROOT),
    )
    assert process.stdin is not None
    assert process.stdout is not None

    async def send(message: dict[str, Any]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(message).encode() + b"\n")
        await process.stdin.drain()

    async def answer() -> dict[str, Any]:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        found: dict[str, Any] = json.loads(line)  # stdout holds protocol messages only
        return found

    await send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"},
            },
        }
    )
    assert (await answer())["id"] == 1
    await send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    await send(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "list_skills", "arguments": {}},
        }
    )
    called = await answer()
    assert called["id"] == 2
    assert not called["result"].get("isError")
    process.stdin.close()
    _, err = await asyncio.wait_for(process.communicate(), 30)
    decisions = [line for line in err.decode().splitlines() if "coordinator.decisions" in line]
    assert len(decisions) == 1, err.decode()
    assert "tool:list_skills -> odoo_prod ok" in decisions[0]
    assert " INFO " in decisions[0]
