"""2026-07-28, stateless: every request is a self-contained POST carrying the
`MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers (and the `x-mcp-header` parameters
a tool declares) and the `_meta` envelope; no session. `server/discover` tells a 2026-07-28
server from an older one; `subscriptions/listen` is the stream of notifications."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from mcp.shared.inbound import NAME_BEARING_METHODS, encode_header_value, mcp_param_headers
from mcp_types import UNSUPPORTED_PROTOCOL_VERSION
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from coordinator.targets.base import MODERN_VERSION, Progress, add_modern_meta, result_of
from coordinator.targets.errors import McpErrorResponse, TargetUnavailable
from coordinator.targets.http_exchange import HttpExchange
from coordinator.targets.http_transport import SSE_TYPE, Generation, dumps
from coordinator.targets.sse import SseParser

# What a server that predates 2026-07-28 answers to the `server/discover` probe.
LEGACY_PROBE_REJECTIONS = frozenset({400, 405, 406, 415, 422})


class ModernRevision:
    """Requests at 2026-07-28. Holds no session, so one serves the target's whole life."""

    generation: Generation = "modern"
    resumable = False
    version = MODERN_VERSION

    def __init__(self, wire: HttpExchange) -> None:
        self._wire = wire
        # The `x-mcp-header` map of each listed tool that declares one, by tool name.
        self.param_header_maps: dict[str, dict[tuple[str, ...], str]] = {}

    def request(
        self, request_id: int, method: str, params: dict[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        add_modern_meta(params)
        headers = dict(self._wire.base_headers)
        headers["MCP-Protocol-Version"] = MODERN_VERSION
        headers["Mcp-Method"] = method
        name_key = NAME_BEARING_METHODS.get(method)
        if name_key is not None:
            name = params.get(name_key)
            if isinstance(name, str):
                headers["Mcp-Name"] = encode_header_value(name)
            if method == "tools/call" and isinstance(name, str):
                header_map = self.param_header_maps.get(name)
                arguments = params.get("arguments")
                if header_map and isinstance(arguments, Mapping):
                    headers.update(mcp_param_headers(header_map, arguments))
        body = dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return body, headers

    def session_lost(self, status: int, headers: Mapping[str, str]) -> str | None:
        return None  # no session to lose

    async def resume(self, parser: SseParser, request_id: int) -> dict[str, Any] | None:
        raise AssertionError("2026-07-28 streams are not resumed")  # pragma: no cover

    def answer(self, message: Mapping[str, Any]) -> None:
        """2026-07-28 has no back channel for replies."""

    async def detect(self) -> Generation:
        """`server/discover` at 2026-07-28; anything but a modern answer means the handshake."""
        wire = self._wire
        request_id = next(wire.ids)
        body, headers = self.request(request_id, "server/discover", {})
        try:
            message, _ = await wire.exchange(body, headers, request_id, Progress(), self)
            result = result_of(wire.name, message)
        except McpErrorResponse as error:
            if error.code == UNSUPPORTED_PROTOCOL_VERSION and isinstance(error.data, Mapping):
                supported = error.data.get("supported")
                if isinstance(supported, list):
                    if MODERN_VERSION in supported:
                        return "modern"
                    if not any(v in HANDSHAKE_PROTOCOL_VERSIONS for v in supported):
                        raise
            return "legacy"
        except TargetUnavailable as error:
            # A server that predates 2026-07-28 rejects the probe as a bad request; an
            # auth failure, a wrong path or an overloaded server says nothing about it.
            if error.kind == "http_status" and error.status in LEGACY_PROBE_REJECTIONS:
                return "legacy"
            raise
        supported = result.get("supportedVersions")
        if isinstance(supported, list) and MODERN_VERSION in supported:
            return "modern"
        return "legacy"

    async def listen_once(self, listening: asyncio.Event) -> str:
        """`subscriptions/listen`: the list-changed notifications, on one event stream."""
        wire = self._wire
        assert wire.http is not None
        request_id = next(wire.ids)
        params: dict[str, Any] = {
            "notifications": {
                "toolsListChanged": True,
                "promptsListChanged": True,
                "resourcesListChanged": True,
            }
        }
        body, headers = self.request(request_id, "subscriptions/listen", params)
        async with wire.http.post(wire.url, data=body, headers=headers) as resp:
            if resp.status != 200 or resp.content_type != SSE_TYPE:
                await resp.read()
                unsupported = resp.status == 200 or 400 <= resp.status < 500
                return "unsupported" if unsupported else "failed"
            listening.set()
            await wire.read_stream(resp, SseParser(), request_id, self)
        return "opened"
