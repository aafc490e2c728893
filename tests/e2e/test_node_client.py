"""A client in another language calls the real coordinator over gRPC: Node.js with
@grpc/grpc-js, loading the .proto at run time with @grpc/proto-loader (no
generated code), against a coordinator in front of the two sample servers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import API_KEY, running, settings_for
from tests.support.mcp_servers import REPO_ROOT, SampleServer

NODE = REPO_ROOT / "tools" / "node_modules" / ".bin" / "node"
SCRIPT = Path(__file__).with_name("node_client.mjs")
RUN_TIMEOUT = 60.0

UNAUTHENTICATED = 16
INVALID_ARGUMENT = 3


async def run_node_client(address: str) -> dict[str, Any]:
    """Runs the Node client (bounded by RUN_TIMEOUT) and returns its JSON output."""
    process = await asyncio.create_subprocess_exec(
        str(NODE),
        str(SCRIPT),
        address,
        API_KEY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode(errors="replace")
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


@pytest.mark.slow
async def test_node_grpc_client_calls_the_coordinator(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(shared_prod.target_config(), shared_lab.target_config())
    async for item in running(settings):
        result = await run_node_client(f"127.0.0.1:{item.coordinator.grpc_port}")

    assert result["health"] == {"status": "ok", "targets": ["odoo_prod", "odoo_lab"]}

    tool_call = result["tool_call"]
    assert tool_call["target"] == "odoo_prod"
    assert tool_call["rule"] == "default"  # both samples have get_record; prod is the default
    assert tool_call["cached"] is False
    assert tool_call["data"]["isError"] is False
    answer = tool_call["data"]["structuredContent"]
    assert answer["server"] == "odoo_prod"
    assert answer["model"] == "hr.expense"
    assert answer["record"] == {
        "id": 1,
        "employee": "Alice Martin",
        "amount": 120.5,
        "currency": "EUR",
        "state": "approved",
        "environment": "production",
    }

    assert result["context_query"] == {
        "target": "odoo_prod",
        "rule": "context:finance-ssc",
        "reason": "Finance SSC context requires production data",
    }

    assert result["no_key"]["code"] == UNAUTHENTICATED
    assert "missing API key" in result["no_key"]["details"]

    assert result["empty_request"]["code"] == INVALID_ARGUMENT
    assert "query: one of query, tool or method is required" in result["empty_request"]["details"]
