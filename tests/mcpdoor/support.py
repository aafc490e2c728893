"""Connecting the SDK `Client` to a running coordinator's `/mcp`, in either revision."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

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
    """An SDK client on `url` (the coordinator's /mcp) with the API key, no client cache."""
    sent = {"X-API-Key": API_KEY, **(headers or {})}
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
