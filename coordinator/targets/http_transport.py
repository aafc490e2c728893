"""The state and plumbing every part of an HTTP target shares: the aiohttp pool, the ids,
the negotiated revision and session, request headers of each revision, and the one place where
aiohttp's errors become `TargetUnavailable`.

An HTTP target is built in layers, one concern a module, each a subclass of the one before:
`HttpTransport` (this), `HttpExchange` (one POST and its answer, JSON or an event stream),
`HttpListener` (the stream of notifications outside requests), `HttpSessions` (detecting the
revision; the 2025-11-25 handshake and session; the 2026-07-28 discovery) and `HttpTarget`
(`coordinator.targets.http`: lifecycle and one request, retried once when our side was wrong).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Mapping
from typing import Any, Literal

import aiohttp
import orjson
from mcp.shared.inbound import NAME_BEARING_METHODS, encode_header_value, mcp_param_headers

from coordinator.config import TargetConfig
from coordinator.targets.base import (
    DEFAULT_TIMEOUT,
    HANDSHAKE_VERSION,
    MODERN_VERSION,
    Progress,
    Target,
    add_modern_meta,
)
from coordinator.targets.errors import TargetUnavailable

logger = logging.getLogger("coordinator.targets.http")

Generation = Literal["modern", "legacy"]

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream"


class SessionExpired(Exception):
    """A 2025-11-25 server answered 404 for the session id: it forgot the session."""

    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id


def dumps(message: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(message)
    except TypeError:  # what orjson does not encode (integers past 64 bits) the stdlib does
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def loads(raw: bytes) -> Any:
    """The JSON value of `raw`, or None when it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:  # what orjson does not read (integers past 64 bits, NaN) the stdlib does
        return json.loads(raw)
    except ValueError:
        return None


class HttpTransport(Target):
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
        self._listen_enabled = listen
        self._listener: asyncio.Task[None] | None = None
        # Set while a stream for notifications outside requests is open.
        self.listening = asyncio.Event()
        assert config.url is not None
        self.url = config.url
        self._pool_size = pool_size
        self._http: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        forced: dict[str, Generation] = {MODERN_VERSION: "modern", HANDSHAKE_VERSION: "legacy"}
        self._generation: Generation | None = forced.get(config.protocol)
        self._ready = False
        self._session_id: str | None = None
        self._negotiated: str | None = None
        self._connect_lock = asyncio.Lock()
        self._base_headers: dict[str, str] = {
            "Accept": f"{JSON_TYPE}, {SSE_TYPE}",
            "Content-Type": JSON_TYPE,
        }
        self._base_headers.update(config.headers)
        self._param_header_maps: dict[str, dict[tuple[str, ...], str]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        # Requests whose event stream ended early, by id: their response may come on whichever
        # stream the server picks to resume on, the notification listener's GET included.
        self._resuming: dict[int, asyncio.Future[dict[str, Any]]] = {}

    @property
    def protocol_version(self) -> str | None:
        return self._negotiated if self._ready else None

    @property
    def session_id(self) -> str | None:
        """The 2025-11-25 `Mcp-Session-Id` in use, if any."""
        return self._session_id

    @property
    def generation(self) -> Generation | None:
        return self._generation

    def _session_headers(self) -> dict[str, str]:
        headers = dict(self._base_headers)
        if self._negotiated:
            headers["MCP-Protocol-Version"] = self._negotiated
        if self._session_id:
            headers["Mcp-Session-Id"] = self._session_id
        return headers

    def _modern_request(
        self, request_id: int, method: str, params: dict[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        add_modern_meta(params)
        headers = dict(self._base_headers)
        headers["MCP-Protocol-Version"] = MODERN_VERSION
        headers["Mcp-Method"] = method
        name_key = NAME_BEARING_METHODS.get(method)
        if name_key is not None:
            name = params.get(name_key)
            if isinstance(name, str):
                headers["Mcp-Name"] = encode_header_value(name)
            if method == "tools/call" and isinstance(name, str):
                header_map = self._param_header_maps.get(name)
                arguments = params.get("arguments")
                if header_map and isinstance(arguments, Mapping):
                    headers.update(mcp_param_headers(header_map, arguments))
        body = dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return body, headers

    async def _notify(self, method: str, params: Mapping[str, Any] | None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self._post_no_reply(dumps(message))

    async def _post_no_reply(self, body: bytes) -> None:
        assert self._http is not None
        try:
            async with self._http.post(
                self.url, data=body, headers=self._session_headers()
            ) as resp:
                await resp.read()
                if resp.status == 404 and self._session_id:
                    raise SessionExpired(self._session_id)
                if resp.status >= 400:
                    raise TargetUnavailable(
                        self.name,
                        "http_status",
                        f"HTTP {resp.status} for a notification",
                        status=resp.status,
                    )
        except aiohttp.ClientError as exc:
            raise self._translate(exc, Progress()) from exc

    def _translate(self, exc: aiohttp.ClientError, progress: Progress) -> TargetUnavailable:
        if self._closed:
            return TargetUnavailable(self.name, "closed", "target was closed", progress.sent)
        if isinstance(exc, aiohttp.ClientConnectorError):
            return TargetUnavailable(
                self.name, "refused", f"cannot connect: {exc.os_error}", may_have_run=False
            )
        if isinstance(
            exc,
            aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientOSError,
        ):
            return TargetUnavailable(
                self.name, "reset", f"connection broke: {exc}", may_have_run=progress.sent
            )
        return TargetUnavailable(
            self.name, "transport", f"{type(exc).__name__}: {exc}", may_have_run=progress.sent
        )
