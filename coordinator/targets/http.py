"""Streamable HTTP targets, both protocol revisions, over one aiohttp pool per target.

2026-07-28 (stateless, `http_modern`): every request is a self-contained POST carrying the
`MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers and the `_meta` envelope (protocol
version, client info, client capabilities).

2025-11-25 (handshake, `http_legacy`): `initialize`, then `notifications/initialized`; every
later request carries `Mcp-Session-Id` and `MCP-Protocol-Version`. A 404 for the session id
means the server forgot it: the session is re-initialized once and the request retried (a 404
proves the request did not run).

`protocol: auto` probes `server/discover` once and falls back to the handshake on anything
that is not positive evidence of a 2026-07-28 server. One session serves every concurrent
request; JSON-RPC ids come from one counter per target. Replies may be JSON or an SSE stream
(`http_exchange`, `sse`), which may carry notifications and server requests before the
response, and may be resumed with `Last-Event-ID` when the server closes it early.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from mcp.shared.inbound import find_invalid_x_mcp_header, x_mcp_header_map
from mcp_types import HEADER_MISMATCH, UNSUPPORTED_PROTOCOL_VERSION

from coordinator.config import TargetConfig
from coordinator.targets.base import (
    DEFAULT_TIMEOUT,
    HANDSHAKE_VERSION,
    MODERN_VERSION,
    Progress,
    Target,
    result_of,
)
from coordinator.targets.errors import McpErrorResponse, TargetUnavailable
from coordinator.targets.http_exchange import HttpExchange
from coordinator.targets.http_legacy import LegacySession
from coordinator.targets.http_modern import ModernRevision
from coordinator.targets.http_transport import (
    JSON_TYPE,
    SSE_TYPE,
    Generation,
    SessionExpired,
    logger,
)
from coordinator.targets.tools import ToolInfo

__all__ = ["Generation", "HttpTarget"]

LISTEN_RETRY_FIRST = 0.5
LISTEN_RETRY_MAX = 30.0


class HttpTarget(Target):
    """One Streamable HTTP target: which revision it speaks, its requests and its listener."""

    transport = "http"

    def __init__(
        self,
        config: TargetConfig,
        *,
        pool_size: int = 256,
        default_timeout: float = DEFAULT_TIMEOUT,
        listen: bool = True,
    ) -> None:
        super().__init__(config, default_timeout=default_timeout)
        assert config.url is not None
        self.url = config.url
        base_headers = {"Accept": f"{JSON_TYPE}, {SSE_TYPE}", "Content-Type": JSON_TYPE}
        base_headers.update(config.headers)
        self._wire = HttpExchange(
            self.name,
            self.url,
            base_headers,
            pool_size=pool_size,
            closed=lambda: self._closed,
            on_notification=self._on_notification,
        )
        self._modern = ModernRevision(self._wire)
        self._legacy = LegacySession(self._wire)
        forced: dict[str, ModernRevision | LegacySession] = {
            MODERN_VERSION: self._modern,
            HANDSHAKE_VERSION: self._legacy,
        }
        # The revision spoken: set by the configuration, else found when first connecting.
        self._revision: ModernRevision | LegacySession | None = forced.get(config.protocol)
        self._ready = False
        self._connect_lock = asyncio.Lock()
        self._listen_enabled = listen
        self._listener: asyncio.Task[None] | None = None
        # Set while a stream for notifications outside requests is open.
        self.listening = asyncio.Event()

    @property
    def protocol_version(self) -> str | None:
        return self._revision.version if self._ready and self._revision is not None else None

    @property
    def session_id(self) -> str | None:
        """The 2025-11-25 `Mcp-Session-Id` in use, if any."""
        return self._legacy.session_id

    @property
    def generation(self) -> Generation | None:
        return self._revision.generation if self._revision is not None else None

    # ----------------------------------------------------------------- lifecycle

    async def _start(self) -> None:
        self._wire.open()

    async def _close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self._legacy.end()
        self._ready = False
        await self._wire.close()

    # ----------------------------------------------------------------- requests

    async def _request(
        self, method: str, params: dict[str, Any], progress: Progress
    ) -> dict[str, Any]:
        if not self._ready:
            await self._connect_before_sending()
        for attempt in range(2):
            revision = self._revision
            assert revision is not None
            session_id = self._legacy.session_id
            request_id = next(self._wire.ids)
            body, headers = revision.request(request_id, method, params)
            try:
                message, _ = await self._wire.exchange(
                    body, headers, request_id, progress, revision
                )
                return result_of(self.name, message)
            except SessionExpired:
                if attempt:
                    raise TargetUnavailable(
                        self.name, "http_status", "session not found twice in a row", status=404
                    ) from None
                await self._reconnect(session_id)
            except McpErrorResponse as error:
                if attempt or not await self._recover(error, revision, method, params):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _recover(
        self,
        error: McpErrorResponse,
        revision: ModernRevision | LegacySession,
        method: str,
        params: Mapping[str, Any],
    ) -> bool:
        """Whether a JSON-RPC error is worth one retry after fixing our side."""
        modern = revision is self._modern
        if error.code == UNSUPPORTED_PROTOCOL_VERSION and modern:
            supported = error.data.get("supported") if isinstance(error.data, Mapping) else None
            if isinstance(supported, list) and MODERN_VERSION in supported:
                return True  # rejected before it ran, and the server names our version: once more
        if error.code == UNSUPPORTED_PROTOCOL_VERSION and self.config.protocol == "auto":
            # The server changed revision under us (upgraded or downgraded): detect again.
            async with self._connect_lock:
                if self._revision is revision:
                    self._ready = False
                    self._revision = None
                    self._legacy.forget()
            await self._connect()
            return True
        if error.code == HEADER_MISMATCH and modern and method == "tools/call":
            name = params.get("name")
            if isinstance(name, str) and name not in self._modern.param_header_maps:
                with contextlib.suppress(Exception):
                    await self.list_tools(refresh=True)
                return name in self._modern.param_header_maps
        return False

    # ----------------------------------------------------------------- connecting

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
            if self._revision is None:
                modern = await self._modern.detect() == "modern"
                self._revision = self._modern if modern else self._legacy
            if self._revision is self._legacy:
                try:
                    await self._legacy.open()
                except McpErrorResponse as error:
                    if error.code != UNSUPPORTED_PROTOCOL_VERSION or self.config.protocol != "auto":
                        raise
                    # A modern-only server: it names its versions, so speak 2026-07-28.
                    self._revision = self._modern
            self._ready = True

    async def _reconnect(self, expired_session: str | None) -> None:
        async with self._connect_lock:
            if self._legacy.session_id == expired_session:
                self._ready = False
                self._legacy.forget()
        await self._connect()

    # ----------------------------------------------------------------- notifications

    async def _listen(self) -> None:
        """Keeps one stream open for notifications sent outside any request.

        2025-11-25: the session's GET stream; 2026-07-28: `subscriptions/listen`.
        Reopened after it ends or breaks (with a growing pause while the target
        is down); given up when the server says it offers none.
        """
        pause = LISTEN_RETRY_FIRST
        while not self._closed:
            try:
                revision = self._modern if self._revision is self._modern else self._legacy
                outcome = await revision.listen_once(self.listening)
                if outcome == "unsupported":
                    logger.debug("target %s offers no notification stream", self.name)
                    return
                if outcome == "opened":
                    pause = LISTEN_RETRY_FIRST
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.debug("target %s: notification stream: %r", self.name, exc)
            finally:
                self.listening.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, LISTEN_RETRY_MAX)

    # ----------------------------------------------------------------- tools

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
        self._modern.param_header_maps = maps
