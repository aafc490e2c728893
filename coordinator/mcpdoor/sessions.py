"""The SDK's open 2025-11-25 sessions, as the fast path needs them.

A `tools/call` on an open session may be answered by the fast path
(`coordinator.mcpdoor.fastpath`) instead of the SDK's session transport; the
session itself stays the SDK's. This module is the one place that reads the
SDK session manager's session table and holds a session the way the SDK's own
transport does while it serves a request: the idle countdown stops while any
request is in flight and restarts when the last one ends, so a host that only
calls tools keeps its session. Both are private parts of
`StreamableHTTPSessionManager` and `StreamableHTTPServerTransport`;
tests/mcpdoor/test_fastpath.py pins the behaviour they give.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator

import anyio
from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

log = logging.getLogger(__name__)


class OpenSessions:
    """Looks up and holds the sessions of one SDK session manager. If an SDK release moves
    the parts this reads, every session call takes the SDK's own path (slower, never wrong)."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self._manager = manager
        self.usable = all(
            hasattr(manager, name) for name in ("_server_instances", "_session_owners")
        ) and all(
            hasattr(StreamableHTTPServerTransport(None), name)
            for name in ("_requests_in_flight", "_idle_timeout", "idle_scope", "is_terminated")
        )
        if not self.usable:
            log.warning(
                "the mcp SDK's session table is not where this release expects it:"
                " tool calls on 2025-11-25 sessions take the SDK's path"
            )

    def find(self, session_id: str) -> StreamableHTTPServerTransport | None:
        """The session's transport when it is open and bound to no credential; else None,
        and the SDK answers the request (404 for a session it does not know)."""
        if not self.usable:
            return None
        transport = self._manager._server_instances.get(session_id)
        if transport is None or transport.is_terminated:
            return None
        if self._manager._session_owners.get(session_id) is not None:
            return None  # bound to an authenticated user: the SDK checks who is asking
        idle = transport.idle_scope
        if idle is not None and idle.cancel_called:
            return None  # timed out and closing
        return transport

    @staticmethod
    @contextlib.contextmanager
    def held(transport: StreamableHTTPServerTransport) -> Iterator[None]:
        """Keeps the session from timing out while the block runs, as the SDK's
        `StreamableHTTPServerTransport.handle_request` does for its own requests."""
        idle = transport.idle_scope
        timeout = transport._idle_timeout
        if idle is None or timeout is None:
            yield
            return
        transport._requests_in_flight += 1
        idle.deadline = math.inf
        try:
            yield
        finally:
            transport._requests_in_flight -= 1
            if not transport._requests_in_flight:
                idle.deadline = anyio.current_time() + timeout
