"""CORS is off unless CORS_ORIGINS lists the origins a browser may call from."""

from __future__ import annotations

import httpx

from tests.integration.conftest import Running, running, settings_for
from tests.mcpdoor.support import INITIALIZE
from tests.support.mcp_servers import SampleServer

from .conftest import OPS_KEY

DASHBOARD = "https://dashboard.example"
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


async def test_no_cors_headers_by_default(keyed: Running) -> None:
    async with httpx.AsyncClient(base_url=keyed.http_url) as client:
        answer = await client.get("/health", headers={"Origin": DASHBOARD})
        preflight = await client.options(
            "/route",
            headers={"Origin": DASHBOARD, "Access-Control-Request-Method": "POST"},
        )
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in preflight.headers


async def test_listed_origins_may_call_from_a_browser_others_may_not(
    shared_prod: SampleServer,
) -> None:
    settings = settings_for(shared_prod.target_config(), api_key=OPS_KEY, cors_origins=(DASHBOARD,))
    async for replica in running(settings):
        async with httpx.AsyncClient(base_url=replica.http_url) as client:
            preflight = await client.options(
                "/status",
                headers={
                    "Origin": DASHBOARD,
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "x-api-key",
                },
            )
            status = await client.get(
                "/status", headers={"Origin": DASHBOARD, "X-API-Key": OPS_KEY}
            )
            foreign = await client.options(
                "/status",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
            )
            # With a middleware in place, /mcp is reached through Starlette's stack.
            tools = await client.post(
                "/mcp",
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "tools/list",
                    "params": {"_meta": ENVELOPE},
                },
                headers={
                    "X-API-Key": OPS_KEY,
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": "2026-07-28",
                    "Mcp-Method": "tools/list",
                },
            )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == DASHBOARD
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
    assert status.status_code == 200
    assert status.headers["access-control-allow-origin"] == DASHBOARD
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers
    assert tools.status_code == 200, tools.text
    assert "list_expenses" in tools.text


async def test_a_browser_mcp_host_may_open_use_and_end_a_session(
    shared_prod: SampleServer,
) -> None:
    # On a loopback address the listed origin passes the door's DNS rebinding check too.
    settings = settings_for(shared_prod.target_config(), api_key=OPS_KEY, cors_origins=(DASHBOARD,))
    mcp_headers = "authorization, content-type, mcp-session-id, mcp-protocol-version, last-event-id"
    async for replica in running(settings):
        async with httpx.AsyncClient(base_url=replica.http_url) as client:
            preflights = {
                method: await client.options(
                    "/mcp",
                    headers={
                        "Origin": DASHBOARD,
                        "Access-Control-Request-Method": method,
                        "Access-Control-Request-Headers": mcp_headers,
                    },
                )
                for method in ("POST", "GET", "DELETE")
            }
            opened = await client.post(
                "/mcp",
                json=INITIALIZE,
                headers={
                    "Origin": DASHBOARD,
                    "Authorization": f"Bearer {OPS_KEY}",
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": "2025-11-25",
                },
            )
    for method, preflight in preflights.items():
        assert preflight.status_code == 200, (method, preflight.text)
        assert preflight.headers["access-control-allow-origin"] == DASHBOARD
    assert opened.status_code == 200, opened.text
    assert opened.headers["access-control-allow-origin"] == DASHBOARD
    exposed = opened.headers["access-control-expose-headers"].lower()
    assert "mcp-session-id" in exposed
    assert opened.headers["mcp-session-id"]
