"""`mcp-coordinator stdio` launched as a host launches it (Claude Desktop), driven by the
SDK `Client` in both revisions, and the MCP Inspector CLI against stdio and /mcp."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.integration.conftest import API_KEY, Running
from tests.mcpdoor.support import MODES, Mode, call_meta, routing
from tests.support.mcp_servers import REPO_ROOT, SampleServer
from tests.support.otlp_collector import OtlpCollector, ReceivedSpan

pytestmark = pytest.mark.slow

INSPECTOR = REPO_ROOT / "tools" / "node_modules" / ".bin" / "mcp-inspector"
NODE_BIN = REPO_ROOT / "tools" / "node_modules" / "node" / "bin"


def stdio_env(prod: SampleServer, lab: SampleServer, **extra: str) -> dict[str, str]:
    return {
        "ODOO_PROD_MCP_URL": prod.url,
        "ODOO_LAB_MCP_URL": lab.url,
        "LOG_LEVEL": "INFO",  # logs must still stay off stdout
        **extra,
    }


def coordinator_command() -> tuple[str, list[str]]:
    return sys.executable, ["-m", "coordinator", "stdio"]


@pytest.mark.parametrize("mode", MODES)
async def test_stdio_serves_the_catalogue_and_routes_with_env_inputs(
    shared_prod: SampleServer, shared_lab: SampleServer, mode: Mode
) -> None:
    command, args = coordinator_command()
    params = StdioServerParameters(
        command=command,
        args=args,
        env=stdio_env(shared_prod, shared_lab, COORDINATOR_CONTEXT="migration"),
        cwd=str(REPO_ROOT),
    )
    async with Client(params, mode=mode, cache=None) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        by_env = await client.call_tool("list_expenses", {})
        by_meta = await client.call_tool(
            "list_expenses",
            {},
            meta=call_meta(target="odoo_prod"),
        )
        aggregate = await client.call_tool("aggregate", {"query": "skills"})
    assert {"query", "list_expenses", "aggregate"} <= names
    assert routing(by_env)["target"] == "odoo_lab"
    assert routing(by_env)["rule"] == "context:migration"
    assert routing(by_meta)["target"] == "odoo_prod"
    assert aggregate.structured_content is not None
    assert set(aggregate.structured_content["results"]) == {"odoo_prod", "odoo_lab"}


async def run_inspector(*argv: str) -> dict[str, object]:
    env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    process = await asyncio.create_subprocess_exec(
        str(INSPECTOR),
        "--cli",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(REPO_ROOT),
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode(errors="replace")
    start = out.index(b"{")
    result = json.loads(out[start:])
    assert isinstance(result, dict)
    return result


async def test_inspector_cli_over_http(coordinator: Running) -> None:
    assert INSPECTOR.exists(), "run `npm ci` in tools/ (the MCP Inspector is a dev dependency)"
    url = f"{coordinator.http_url}/mcp"
    header = f"X-API-Key: {API_KEY}"
    listed = await run_inspector(url, "--header", header, "--method", "tools/list")
    called = await run_inspector(
        url,
        "--header",
        header,
        "--header",
        "X-Coordinator-Target: odoo_lab",
        "--method",
        "tools/call",
        "--tool-name",
        "list_skills",
    )
    tools = listed["tools"]
    assert isinstance(tools, list)
    assert "query" in {tool["name"] for tool in tools}
    meta = called["_meta"]
    assert isinstance(meta, dict)
    assert meta["mcp-coordinator/routing"]["target"] == "odoo_lab"


async def test_inspector_cli_over_stdio(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    env_args = [
        arg for k, v in stdio_env(shared_prod, shared_lab).items() for arg in ("-e", f"{k}={v}")
    ]
    prompt = await run_inspector(
        *env_args,
        str(Path(sys.executable).parent / "mcp-coordinator"),
        "stdio",
        "--method",
        "prompts/get",
        "--prompt-name",
        "summarize_expenses",
        "--prompt-args",
        "employee=Chen Wei",
    )
    messages = prompt["messages"]
    assert isinstance(messages, list)
    assert "Chen Wei" in messages[0]["content"]["text"]


def door_span(span: ReceivedSpan) -> bool:
    return span.kind == "server" and span.name == "tools/call list_expenses"


async def test_a_traced_stdio_door_says_its_host_talks_over_a_pipe(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    collector = OtlpCollector().start()
    try:
        command, args = coordinator_command()
        env = stdio_env(shared_prod, shared_lab, OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint)
        params = StdioServerParameters(command=command, args=args, env=env, cwd=str(REPO_ROOT))
        async with Client(params, cache=None) as client:
            await client.call_tool("list_expenses", {})
        spans = await asyncio.to_thread(
            collector.wait_for, lambda got: any(door_span(s) for s in got)
        )
    finally:
        collector.stop()
    (door,) = [s for s in spans if door_span(s)]
    assert door.attributes["network.transport"] == "pipe"


async def test_stdio_applies_the_input_limits_before_routing(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    command, args = coordinator_command()
    env = stdio_env(shared_prod, shared_lab, MAX_JSON_DEPTH="4")
    params = StdioServerParameters(command=command, args=args, env=env, cwd=str(REPO_ROOT))
    deep: dict[str, object] = {"a": {"b": {"c": {"d": {}}}}}
    async with Client(params, mode="legacy", cache=None) as client:
        with pytest.raises(MCPError) as tool:
            await client.call_tool("list_expenses", {"filter": deep})
        with pytest.raises(MCPError) as prompt:
            await client.get_prompt("summarize_expenses", meta=call_meta(context={"x": deep}))
        allowed = await client.call_tool("list_expenses", {}, meta=call_meta(context={"x": 1}))
    assert tool.value.error.code == -32602
    assert tool.value.error.message == (
        "arguments: JSON nested deeper than MAX_JSON_DEPTH=4 levels"
    )
    assert prompt.value.error.message == "_meta: JSON nested deeper than MAX_JSON_DEPTH=4 levels"
    assert routing(allowed)["target"]
