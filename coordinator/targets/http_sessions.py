"""Which revision a target speaks, and the session of each.

`protocol: auto` probes `server/discover` once (2026-07-28) and falls back to the handshake on
anything that is not positive evidence of a 2026-07-28 server. 2026-07-28 needs no session.
2025-11-25: `initialize`, then `notifications/initialized`; every later request carries
`Mcp-Session-Id`; a 404 for it means the server forgot the session, which is renewed once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from mcp_types import UNSUPPORTED_PROTOCOL_VERSION
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from coordinator.targets.base import (
    CLIENT_INFO,
    HANDSHAKE_VERSION,
    MODERN_VERSION,
    Progress,
    result_of,
)
from coordinator.targets.errors import McpErrorResponse, TargetUnavailable
from coordinator.targets.http_listener import HttpListener
from coordinator.targets.http_transport import Generation, dumps

# What a server that predates 2026-07-28 answers to the `server/discover` probe.
LEGACY_PROBE_REJECTIONS = frozenset({400, 405, 406, 415, 422})


class HttpSessions(HttpListener):
    async def _connect_before_sending(self) -> None:
        """Connects; a failure here proves the caller's request was never sent."""
        try:
            await self._connect()
        except TargetUnavailable as error:
            if error.may_have_run:
                error.may_have_run = False
            raise

    async def _connect(self) -> None:
        await self._connect_once()
        if self._listen_enabled and self._listener is None and self._ready and not self._closed:
            self._listener = asyncio.create_task(self._listen(), name=f"{self.name}-listen")

    async def _connect_once(self) -> None:
        async with self._connect_lock:
            if self._ready:
                return
            if self._generation is None:
                self._generation = await self._detect()
                if self._generation == "modern":
                    self._negotiated = MODERN_VERSION
                    self._ready = True
                    return
            if self._generation == "modern":
                self._negotiated = MODERN_VERSION
                self._ready = True
                return
            try:
                await self._initialize()
            except McpErrorResponse as error:
                if error.code != UNSUPPORTED_PROTOCOL_VERSION or self.config.protocol != "auto":
                    raise
                # A modern-only server: it names its versions, so speak 2026-07-28.
                self._generation = "modern"
                self._negotiated = MODERN_VERSION
                self._ready = True

    async def _reconnect(self, expired_session: str | None) -> None:
        async with self._connect_lock:
            if self._session_id == expired_session:
                self._ready = False
                self._session_id = None
        await self._connect()

    async def _detect(self) -> Generation:
        """`server/discover` at 2026-07-28; anything but a modern answer means the handshake."""
        request_id = next(self._ids)
        body, headers = self._modern_request(request_id, "server/discover", {})
        try:
            message, _ = await self._exchange(body, headers, request_id, Progress(), legacy=False)
            result = result_of(self.name, message)
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

    async def _initialize(self) -> None:
        self._session_id = None
        self._negotiated = None
        request_id = next(self._ids)
        body = dumps(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "initialize",
                "params": {
                    "protocolVersion": HANDSHAKE_VERSION,
                    "capabilities": {},
                    "clientInfo": CLIENT_INFO,
                },
            }
        )
        message, headers = await self._exchange(
            body, dict(self._base_headers), request_id, Progress(), legacy=True
        )
        result = result_of(self.name, message)
        version = result.get("protocolVersion")
        if version not in HANDSHAKE_PROTOCOL_VERSIONS:
            raise TargetUnavailable(
                self.name, "transport", f"server chose unsupported protocol version {version!r}"
            )
        self._negotiated = str(version)
        self._session_id = headers.get("Mcp-Session-Id")
        await self._notify("notifications/initialized", None)
        self._ready = True
