"""Streamable HTTP targets, both protocol generations, over one aiohttp pool per target.

2026-07-28 (stateless): every request is a self-contained POST carrying the
`MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers and the
`_meta` envelope (protocol version, client info, client capabilities).

2025-11-25 (handshake): `initialize`, then `notifications/initialized`; every
later request carries `Mcp-Session-Id` and `MCP-Protocol-Version`. A 404 for
the session id means the server forgot it: the session is re-initialized once
and the request retried (a 404 proves the request did not run).

`protocol: auto` probes `server/discover` once and falls back to the
handshake on anything that is not positive evidence of a 2026-07-28 server.
One session serves every concurrent request; JSON-RPC ids come from one
counter per target. Replies may be JSON or an SSE stream (which may carry
notifications and server requests before the response, and may be resumed
with `Last-Event-ID` when the server closes it early).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import aiohttp
from mcp.shared.inbound import find_invalid_x_mcp_header, x_mcp_header_map
from mcp_types import HEADER_MISMATCH, UNSUPPORTED_PROTOCOL_VERSION

from coordinator.targets.base import MODERN_VERSION, Progress, result_of
from coordinator.targets.errors import McpErrorResponse, TargetUnavailable
from coordinator.targets.http_sessions import HttpSessions
from coordinator.targets.http_transport import Generation, SessionExpired, dumps, logger
from coordinator.targets.tools import ToolInfo

__all__ = ["Generation", "HttpTarget"]


class HttpTarget(HttpSessions):
    """One Streamable HTTP target (see `coordinator.targets.http_transport` for its layers)."""

    async def _start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=60.0)
        self._http = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            trust_env=False,
            auto_decompress=True,
        )

    async def _close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        for task in list(self._background):
            task.cancel()
        if self._session_id is not None and self._http is not None:
            # Polite: tell the server the session is over (best effort, short).
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    headers = self._session_headers()
                    async with self._http.delete(self.url, headers=headers) as resp:
                        await resp.read()
        self._ready = False
        self._session_id = None
        if self._http is not None:
            await self._http.close()

    async def _request(
        self, method: str, params: dict[str, Any], progress: Progress
    ) -> dict[str, Any]:
        if not self._ready:
            await self._connect_before_sending()
        for attempt in range(2):
            generation = self._generation
            session_id = self._session_id
            request_id = next(self._ids)
            if generation == "modern":
                body, headers = self._modern_request(request_id, method, params)
            else:
                body = dumps(
                    {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
                )
                headers = self._session_headers()
            try:
                message, _ = await self._exchange(
                    body, headers, request_id, progress, legacy=generation == "legacy"
                )
                return result_of(self.name, message)
            except SessionExpired:
                if attempt:
                    raise TargetUnavailable(
                        self.name, "http_status", "session not found twice in a row", status=404
                    ) from None
                await self._reconnect(session_id)
            except McpErrorResponse as error:
                if attempt or not await self._recover(error, generation, method, params):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _recover(
        self,
        error: McpErrorResponse,
        generation: Generation | None,
        method: str,
        params: Mapping[str, Any],
    ) -> bool:
        """Whether a JSON-RPC error is worth one retry after fixing our side."""
        if error.code == UNSUPPORTED_PROTOCOL_VERSION and generation == "modern":
            supported = error.data.get("supported") if isinstance(error.data, Mapping) else None
            if isinstance(supported, list) and MODERN_VERSION in supported:
                return True  # rejected before it ran, and the server names our version: once more
        if error.code == UNSUPPORTED_PROTOCOL_VERSION and self.config.protocol == "auto":
            # The server changed generation under us (upgraded or downgraded): detect again.
            async with self._connect_lock:
                if self._generation == generation:
                    self._ready = False
                    self._generation = None
                    self._session_id = None
            await self._connect()
            return True
        if error.code == HEADER_MISMATCH and generation == "modern" and method == "tools/call":
            name = params.get("name")
            if isinstance(name, str) and name not in self._param_header_maps:
                with contextlib.suppress(Exception):
                    await self.list_tools(refresh=True)
                return name in self._param_header_maps
        return False

    def _accept_tool(self, tool: ToolInfo) -> bool:
        # SEP-2243: a tool with a malformed x-mcp-header annotation MUST NOT be used.
        problem = find_invalid_x_mcp_header(dict(tool.input_schema))
        if problem is not None:
            logger.warning("target %s: ignoring tool %r: %s", self.name, tool.name, problem)
            return False
        return True

    def _tools_fetched(self, tools: Mapping[str, ToolInfo]) -> None:
        maps: dict[str, dict[tuple[str, ...], str]] = {}
        for name, tool in tools.items():
            header_map = x_mcp_header_map(dict(tool.input_schema))
            if header_map:
                maps[name] = header_map
        self._param_header_maps = maps
