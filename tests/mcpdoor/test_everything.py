"""`@modelcontextprotocol/server-everything` (npm, in tools/) as a stdio target behind
the coordinator: its tools, resources, templates, prompts and progress work through /mcp."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from mcp.shared.exceptions import MCPError

from coordinator.config import TargetConfig
from tests.integration.conftest import Running, running, settings_for
from tests.mcpdoor.support import MODES, Mode, mcp_client, routing
from tests.support.mcp_servers import REPO_ROOT, SampleServer

pytestmark = pytest.mark.slow

TOOLS = REPO_ROOT / "tools" / "node_modules"
EVERYTHING = TOOLS / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
NODE = TOOLS / "node" / "bin" / "node"


def everything_target(**overrides: object) -> TargetConfig:
    values: dict[str, object] = {
        "name": "everything",
        "transport": "stdio",
        "command": str(NODE),
        "args": (str(EVERYTHING), "stdio"),
        "timeout": 30.0,
    }
    values.update(overrides)
    return TargetConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def with_everything(shared_prod: SampleServer) -> AsyncIterator[Running]:
    assert EVERYTHING.exists(), "run `npm ci` in tools/ (server-everything is a dev dependency)"
    settings = settings_for(shared_prod.target_config(), everything_target(), request_timeout=30.0)
    async for item in running(settings):
        yield item


@pytest.mark.parametrize("mode", MODES)
async def test_everything_tools_resources_and_prompts_through_mcp(
    with_everything: Running, mode: Mode
) -> None:
    async with mcp_client(f"{with_everything.http_url}/mcp", mode) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        total = await client.call_tool("get-sum", {"a": 2, "b": 3})
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        dynamic = await client.read_resource("demo://resource/dynamic/text/7")
        prompt = await client.get_prompt("args-prompt", {"city": "Paris"})
        with pytest.raises(MCPError) as missing_argument:
            await client.get_prompt("args-prompt", {})
    assert {"echo", "get-sum", "query", "list_expenses"} <= tools
    assert "5" in getattr(total.content[0], "text", "")
    assert routing(total)["target"] == "everything"
    assert any(uri.startswith("demo://resource/static/") for uri in resources)
    assert "odoo://odoo_prod/models" in resources
    assert "demo://resource/dynamic/text/{resourceId}" in templates
    assert routing(dynamic)["target"] == "everything"
    assert "7" in getattr(dynamic.contents[0], "text", "")
    assert "Paris" in str(prompt.messages[0].content)
    assert missing_argument.value.error.code == -32602


@pytest.mark.parametrize("mode", MODES)
async def test_progress_of_the_target_reaches_the_host(
    with_everything: Running, mode: Mode
) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with mcp_client(f"{with_everything.http_url}/mcp", mode) as client:
        result = await client.call_tool(
            "trigger-long-running-operation",
            {"duration": 0.3, "steps": 3},
            progress_callback=on_progress,
        )
    assert result.is_error is not True
    assert seen == [1, 2, 3]


@pytest.mark.parametrize("mode", MODES)
async def test_a_cancelled_call_cancels_the_upstream_call(
    with_everything: Running, mode: Mode
) -> None:
    service = with_everything.coordinator.service
    assert service is not None
    started = asyncio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        started.set()

    async with mcp_client(f"{with_everything.http_url}/mcp", mode) as client:
        call = asyncio.create_task(
            client.call_tool(
                "trigger-long-running-operation",
                {"duration": 20, "steps": 40},
                progress_callback=on_progress,
            )
        )
        await asyncio.wait_for(started.wait(), 10)
        assert service.status().targets["everything"].in_flight == 1
        # 2025-11-25: the SDK client sends notifications/cancelled; 2026-07-28: it
        # closes the response stream.
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        for _ in range(200):
            if service.status().targets["everything"].in_flight == 0:
                break
            await asyncio.sleep(0.02)
    assert service.status().targets["everything"].in_flight == 0
