"""Connecting the SDK `Client` to a running coordinator's `/mcp`, in either revision."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.integration.conftest import API_KEY

Mode = Literal["legacy", "2026-07-28"]
MODES: tuple[Mode, ...] = ("legacy", "2026-07-28")


@contextlib.asynccontextmanager
async def mcp_client(
    url: str,
    mode: Mode,
    *,
    headers: Mapping[str, str] | None = None,
    **options: Any,
) -> AsyncIterator[Client]:
    """An SDK client on `url` (the coordinator's /mcp) with the API key (as `X-API-Key`,
    unless `headers` send it as `Authorization`: one key per request), no client cache."""
    sent = dict(headers or {})
    if not any(name.lower() in ("authorization", "x-api-key") for name in sent):
        sent["X-API-Key"] = API_KEY
    async with (
        httpx2.AsyncClient(headers=sent, timeout=30.0) as http,
        Client(
            streamable_http_client(url, http_client=http), mode=mode, cache=None, **options
        ) as client,
    ):
        yield client


def routing(result: Any) -> dict[str, Any]:
    """The decision the coordinator put in a result's `_meta`."""
    meta = result.meta or {}
    decision = meta.get("mcp-coordinator/routing")
    assert isinstance(decision, dict), f"no routing decision in {meta!r}"
    return decision


def call_meta(*, context: dict[str, Any] | None = None, target: str | None = None) -> Any:
    """A request `_meta` with the coordinator's per-call routing inputs."""
    meta: dict[str, Any] = {}
    if context is not None:
        meta["mcp-coordinator/context"] = context
    if target is not None:
        meta["mcp-coordinator/target"] = target
    return meta


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
"""The request that opens a 2025-11-25 session."""


def session_headers(session: str, key: str = API_KEY) -> dict[str, str]:
    """The headers of a request on a 2025-11-25 session, answered as JSON or a stream."""
    return {
        "X-API-Key": key,
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2025-11-25",
        "Mcp-Session-Id": session,
    }


async def open_session(http: httpx.AsyncClient, url: str, key: str = API_KEY) -> str:
    """Opens a 2025-11-25 session on `url` (initialize, then initialized); its id."""
    sent = {k: v for k, v in session_headers("", key).items() if k != "Mcp-Session-Id"}
    opened = await http.post(url, json=INITIALIZE, headers=sent)
    assert opened.status_code == 200, opened.text
    session = opened.headers["mcp-session-id"]
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    answer = await http.post(url, json=done, headers=session_headers(session, key))
    assert answer.status_code == 202
    return session
