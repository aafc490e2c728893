"""The host configurations the demo prints work as printed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from coordinator.demo import examples
from coordinator.mcpdoor.hosts import claude_desktop_config, vscode_config
from tests.integration.conftest import API_KEY, Running
from tests.mcpdoor.support import mcp_client
from tests.support.mcp_servers import SampleServer

pytestmark = pytest.mark.slow


async def test_the_vscode_configuration_connects(coordinator: Running) -> None:
    config = json.loads(vscode_config(f"{coordinator.http_url}/mcp", {"X-API-Key": API_KEY}))
    server = config["servers"]["mcp-coordinator"]
    assert server["type"] == "http"
    async with mcp_client(server["url"], "legacy", headers=server["headers"]) as client:
        assert "query" in {tool.name for tool in (await client.list_tools()).tools}


async def test_the_claude_desktop_configuration_launches_the_stdio_door(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    env = {"ODOO_PROD_MCP_URL": shared_prod.url, "ODOO_LAB_MCP_URL": shared_lab.url}
    command = str(Path(sys.executable).parent / "mcp-coordinator")
    config = json.loads(claude_desktop_config(env, command=command))
    server = config["mcpServers"]["mcp-coordinator"]
    assert server["args"] == ["stdio"]
    params = StdioServerParameters(
        command=server["command"], args=server["args"], env=server["env"]
    )
    async with Client(params, mode="legacy", cache=None) as client:
        prompts = await client.list_prompts()
    assert [p.name for p in prompts.prompts] == ["summarize_expenses"]


def test_the_demo_prints_both_host_configurations() -> None:
    text = examples(8766, 50051, "demo-key", {"odoo_prod": "http://127.0.0.1:9/mcp"})
    assert '"url": "http://127.0.0.1:8766/mcp"' in text
    assert '"X-API-Key": "demo-key"' in text
    assert '"ODOO_PROD_MCP_URL": "http://127.0.0.1:9/mcp"' in text
    assert '"stdio"' in text
