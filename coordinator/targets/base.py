"""`Target`: one downstream MCP server, whatever its transport.

A target is an async context manager. Entering it prepares the transport but
connects lazily: a target that is down when the coordinator starts does not
stop the coordinator, and its first request pays for the connection (under
that request's timeout). `request()` sends one JSON-RPC request and returns
the `result` object as plain JSON; it raises `McpErrorResponse` for an answer
that is an error and `TargetUnavailable` when no answer came.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    METHOD_NOT_FOUND,
    PROTOCOL_VERSION_META_KEY,
)

from coordinator import __version__, tracing
from coordinator.config import TargetConfig
from coordinator.targets.errors import (
    McpErrorResponse,
    TargetError,
    TargetTimeout,
    TargetUnavailable,
)
from coordinator.targets.progress import ProgressSink, current_sink, new_token
from coordinator.targets.tools import ToolInfo, tools_from_results

logger = logging.getLogger(__name__)

TransportName = Literal["http", "stdio"]
NotificationListener = Callable[["Target", str, Mapping[str, Any]], None]

CLIENT_INFO: dict[str, str] = {"name": "mcp-coordinator", "version": __version__}
HANDSHAKE_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
MAX_LIST_PAGES = 100
DEFAULT_TIMEOUT = 10.0
# What every 2026-07-28 request carries in `params._meta` instead of a handshake.
MODERN_META: dict[str, Any] = {
    PROTOCOL_VERSION_META_KEY: MODERN_VERSION,
    CLIENT_INFO_META_KEY: CLIENT_INFO,
    CLIENT_CAPABILITIES_META_KEY: {},
}

LIST_CHANGED_TOOLS = "notifications/tools/list_changed"


def add_modern_meta(params: dict[str, Any]) -> None:
    """Puts the 2026-07-28 envelope into `params["_meta"]`, keeping the caller's own keys."""
    meta = params.get("_meta")
    params["_meta"] = {**meta, **MODERN_META} if isinstance(meta, Mapping) else MODERN_META


class Progress:
    """How far one request got: `sent` once it may have left this process."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


class Target(abc.ABC):
    """One downstream MCP server. Create with `open_target(config)`."""

    transport: ClassVar[TransportName]

    def __init__(self, config: TargetConfig, *, default_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.config = config
        self.name = config.name
        # Used when a call passes no timeout: the target's own, else the given default.
        self.default_timeout: float = (
            config.timeout if config.timeout is not None else default_timeout
        )
        self._closed = False
        self._entered = False
        self._tools: dict[str, ToolInfo] | None = None
        self._tools_expiry = 0.0
        self._tools_generation = 0
        self._tools_lock = asyncio.Lock()
        self._listeners: list[NotificationListener] = []
        self._tools_refresh: asyncio.Task[None] | None = None
        self._progress_sinks: dict[str, ProgressSink] = {}

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Target:
        if self._entered:
            raise RuntimeError(f"target {self.name} was already entered")
        self._entered = True
        await self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes sessions, connections and child processes. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._tools_refresh is not None:
            self._tools_refresh.cancel()
        await self._close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    @abc.abstractmethod
    def protocol_version(self) -> str | None:
        """The negotiated protocol version, or None before the first successful exchange."""

    # ----------------------------------------------------------------- requests

    async def request(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - part of the interface; enforced inside
    ) -> dict[str, Any]:
        """Sends one JSON-RPC request and returns its `result` object.

        `timeout` (default: `default_timeout`) bounds the whole
        request, connecting and session set-up included.
        """
        if self._closed:
            raise TargetUnavailable(self.name, "closed", "target is closed", may_have_run=False)
        if not self._entered:
            raise RuntimeError(f"target {self.name} must be entered (async with) before use")
        limit = self.default_timeout if timeout is None else timeout
        progress = Progress()
        body = dict(params or {})
        token = self._ask_for_progress(body)
        try:
            async with asyncio.timeout(limit) as scope:
                tracing.inject_meta(body)
                return await self._request(method, body, progress)
        except TimeoutError:
            if not scope.expired():
                raise
            raise TargetTimeout(
                self.name, f"{method}: no answer within {limit:g}s", may_have_run=progress.sent
            ) from None
        finally:
            if token is not None:
                self._progress_sinks.pop(token, None)

    def _ask_for_progress(self, params: dict[str, Any]) -> str | None:
        """Adds a progress token to `params._meta` when the caller set a progress sink."""
        sink = current_sink()
        if sink is None:
            return None
        token = new_token(self.name)
        meta = params.get("_meta")
        params["_meta"] = (
            {**meta, "progressToken": token}
            if isinstance(meta, Mapping)
            else {"progressToken": token}
        )
        self._progress_sinks[token] = sink
        return token

    @abc.abstractmethod
    async def _request(
        self, method: str, params: dict[str, Any], progress: Progress
    ) -> dict[str, Any]:
        """Sends the request; sets `progress.sent` before the request can reach the target."""

    @abc.abstractmethod
    async def _start(self) -> None: ...

    @abc.abstractmethod
    async def _close(self) -> None: ...

    # ----------------------------------------------------------------- tools

    @property
    def tools_cached(self) -> Mapping[str, ToolInfo] | None:
        """The last fetched tool list (possibly stale), without I/O."""
        return self._tools

    def invalidate_tools(self) -> None:
        """The next `list_tools()` fetches the list again."""
        self._tools_generation += 1
        self._tools_expiry = 0.0

    async def list_tools(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 - part of the interface; enforced inside
        *,
        refresh: bool = False,
    ) -> Mapping[str, ToolInfo]:
        """The target's tools, cached for `config.tools_ttl` seconds.

        The cache is dropped on `notifications/tools/list_changed`. Concurrent
        callers share one fetch.
        """
        if not refresh and self._tools_fresh():
            assert self._tools is not None
            return self._tools
        limit = self.default_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        try:
            async with asyncio.timeout(limit) as scope:
                await self._tools_lock.acquire()
        except TimeoutError:
            if not scope.expired():
                raise
            raise TargetTimeout(
                self.name, f"tools/list: no answer within {limit:g}s", may_have_run=True
            ) from None
        try:
            if not refresh and self._tools_fresh():
                assert self._tools is not None
                return self._tools
            generation = self._tools_generation
            pages: list[dict[str, Any]] = []
            cursor: str | None = None
            for _ in range(MAX_LIST_PAGES):
                params = {"cursor": cursor} if cursor else {}
                try:
                    page = await self.request(
                        "tools/list", params, timeout=max(0.001, deadline - time.monotonic())
                    )
                except McpErrorResponse as error:
                    if error.code != METHOD_NOT_FOUND or pages:
                        raise
                    # A server without tools: an empty list, kept like any other, so the
                    # question is not asked again on every call.
                    break
                pages.append(page)
                next_cursor = page.get("nextCursor")
                if not isinstance(next_cursor, str) or not next_cursor or next_cursor == cursor:
                    break
                cursor = next_cursor
            tools = {n: t for n, t in tools_from_results(pages).items() if self._accept_tool(t)}
            self._tools_fetched(tools)
            self._tools = tools
            if generation == self._tools_generation:
                self._tools_expiry = time.monotonic() + self.config.tools_ttl
            return tools
        finally:
            self._tools_lock.release()

    def _accept_tool(self, tool: ToolInfo) -> bool:
        """Whether a listed tool is usable (a transport may reject malformed ones)."""
        return True

    def _tools_fetched(self, tools: Mapping[str, ToolInfo]) -> None:  # noqa: B027 - optional hook
        """Called with every freshly fetched tool list, before it is cached."""

    def _tools_fresh(self) -> bool:
        return self._tools is not None and time.monotonic() < self._tools_expiry

    # ----------------------------------------------------------------- notifications

    def add_notification_listener(self, listener: NotificationListener) -> Callable[[], None]:
        """Calls `listener(target, method, params)` for every notification the target sends.

        Returns a function that removes the listener.
        """
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def _on_notification(self, method: str, params: Any) -> None:
        if method == LIST_CHANGED_TOOLS:
            self.invalidate_tools()
            self._refresh_tools_soon()
        elif method == "notifications/subscriptions/acknowledged":
            return
        payload: Mapping[str, Any] = params if isinstance(params, Mapping) else {}
        if method == "notifications/progress":
            sink = self._progress_sinks.get(str(payload.get("progressToken")))
            if sink is not None:
                try:
                    sink(payload)
                except Exception:
                    logger.exception("progress sink failed for %s", self.name)
        for listener in list(self._listeners):
            try:
                listener(self, method, payload)
            except Exception:
                logger.exception("notification listener failed for %s %s", self.name, method)

    def _refresh_tools_soon(self) -> None:
        """Fetches the changed tool list in the background, so `tools_cached` (what
        routing reads) is current before the next request needs it."""
        if self._closed or (self._tools_refresh is not None and not self._tools_refresh.done()):
            return
        self._tools_refresh = asyncio.get_running_loop().create_task(
            self._refresh_tools(), name=f"{self.name}-tools-refresh"
        )

    async def _refresh_tools(self) -> None:
        try:
            await self.list_tools()
        except TargetError as exc:
            logger.info("target %s: refreshing the changed tool list failed: %s", self.name, exc)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} protocol={self.protocol_version}>"


def result_of(target: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """The `result` of a JSON-RPC response, or raises `McpErrorResponse` for an error response."""
    error = message.get("error")
    if error is not None:
        raise error_from_json(target, error)
    result = message.get("result")
    if not isinstance(result, dict):
        raise TargetUnavailable(target, "transport", "response has no result object")
    return result


def error_from_json(target: str, error: Any) -> McpErrorResponse:
    if not isinstance(error, Mapping):
        return McpErrorResponse(-32603, f"malformed error object from {target}: {error!r}")
    code = error.get("code")
    message = error.get("message")
    return McpErrorResponse(
        code if isinstance(code, int) and not isinstance(code, bool) else -32603,
        message if isinstance(message, str) else "",
        error.get("data"),
    )
