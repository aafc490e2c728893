"""`mcp-coordinator demo`: two sample Odoo-like MCP servers and a coordinator in front.

The samples run as child processes on free ports (odoo_prod with production
data, odoo_lab with lab data); the coordinator runs in this process. Ctrl-C
stops everything, children included.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Mapping

from coordinator.app import Coordinator
from coordinator.config import Settings, TargetConfig
from coordinator.mcpdoor.hosts import claude_desktop_config, vscode_config
from coordinator.tracing import TracingConfig

START_TIMEOUT = 30.0


@contextlib.asynccontextmanager
async def sample_process(name: str, environment: str) -> AsyncIterator[str]:
    """Starts `python -m coordinator.samples` on a free port; yields its MCP URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "coordinator.samples",
        "--name",
        name,
        "--environment",
        environment,
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        text = line.decode().strip()
        if not text.startswith("listening on "):
            raise RuntimeError(f"sample server {name} did not start: {text!r}")
        yield text.removeprefix("listening on ")
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()


def examples(
    http_port: int, grpc_port: int, api_key: str, targets: Mapping[str, str] | None = None
) -> str:
    base = f"http://127.0.0.1:{http_port}"
    key = f"-H 'X-API-Key: {api_key}'"
    vscode = vscode_config(f"{base}/mcp", {"X-API-Key": api_key})
    claude = claude_desktop_config(
        {f"{name.upper()}_MCP_URL": url for name, url in (targets or {}).items()}
    )
    return f"""
MCP Coordinator demo is running.
  REST  {base}      gRPC 127.0.0.1:{grpc_port}      API key: {api_key}
  Dashboard {base}/dashboard  (open it in a browser; it asks for the API key)

Try (in another terminal):
  curl -s {base}/health
  curl -s {base}/route {key} -H 'Content-Type: application/json' \\
       -d '{{"query": "Show recent expenses", "context": {{"finance-ssc": true}}}}'
  curl -s {base}/route {key} -H 'Content-Type: application/json' \\
       -d '{{"query": "Which modules need migration?", "context": {{"migration": true}}}}'
  curl -s {base}/aggregate {key} -H 'Content-Type: application/json' \\
       -d '{{"query": "List all skills", "context": {{}}}}'
  curl -s {base}/status {key}

  export COORDINATOR_API_KEY={api_key} COORDINATOR_ADDRESS=127.0.0.1:{grpc_port}
  mcp-coordinator route "Show recent expenses" --context finance-ssc=true
  mcp-coordinator route --tool get_record --arguments '{{"model": "hr.expense", "record_id": 1}}'
  mcp-coordinator aggregate "List all skills"
  mcp-coordinator status

MCP hosts (every target's tools in one server, routed the same way):
  VS Code, .vscode/mcp.json:
{_indent(vscode)}
  Claude Desktop, claude_desktop_config.json (launches the coordinator over stdio):
{_indent(claude)}
  Any other host: Streamable HTTP at {base}/mcp with the X-API-Key header
  (or Authorization: Bearer {api_key}); the MCP Inspector:
  npx @modelcontextprotocol/inspector --cli {base}/mcp --header 'X-API-Key: {api_key}' \\
      --method tools/list

Press Ctrl-C to stop.
"""


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


async def run_demo(*, grpc_port: int, port: int, api_key: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with (
        sample_process("odoo_prod", "production") as prod_url,
        sample_process("odoo_lab", "lab") as lab_url,
    ):
        settings = Settings(
            api_key=api_key,
            grpc_port=grpc_port,
            port=port,
            targets=(
                TargetConfig(name="odoo_prod", url=prod_url),
                TargetConfig(name="odoo_lab", url=lab_url),
            ),
            default_target="odoo_prod",
            failover_order=("odoo_prod", "odoo_lab"),
            drain_seconds=2.0,
        )
        async with Coordinator(settings, tracing=TracingConfig.from_environment()) as coordinator:
            targets = {"odoo_prod": prod_url, "odoo_lab": lab_url}
            text = examples(coordinator.http_port, coordinator.grpc_port, api_key, targets)
            print(text, flush=True)
            await stop.wait()
            await coordinator.drain()
    return 0
