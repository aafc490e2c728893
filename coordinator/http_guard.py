"""The HTTP door's defence against slow and greedy clients, below the ASGI app.

uvicorn closes an idle kept-alive connection, but nothing bounds how long a
client may take to send a request head or its body: a client that declares a
Content-Length and never sends it, or dribbles its headers, holds a
connection (and, past the head, a task) as long as it likes. `guarded_http`
returns uvicorn's httptools protocol with three bounds added:

- the request head must be complete within `header_timeout` seconds of its
  first byte (uvicorn's keep-alive timer covers the idle wait before it);
- the body must be complete within `body_timeout` seconds of the head;
- at most `max_connections` connections are open at once; one more is
  closed as soon as it is accepted.

A client over a timeout gets `408 Request Timeout` (when no response has
started) and the connection is closed; the app sees a disconnect.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def _request_timeout_response() -> bytes:
    body = b'{"code":4,"message":"request not received in time","details":[]}'
    return (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
        b"connection: close\r\n\r\n" + body
    )


REQUEST_TIMEOUT_RESPONSE = _request_timeout_response()


def guarded_http(
    *, header_timeout: float, body_timeout: float, max_connections: int
) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with head and body deadlines and a connection cap."""

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _reading_body = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.abort()
                return
            self._arm(header_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            # Also the next request on a kept-alive connection: uvicorn's keep-alive timer
            # covers the idle wait, the head deadline starts with the first byte.
            super().on_message_begin()
            if self._deadline is None:
                self._arm(header_timeout)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
            self._arm(body_timeout)
            self._reading_body = True

        def on_message_complete(self) -> None:
            self._disarm()
            self._reading_body = False
            super().on_message_complete()

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            cycle: Any = self.cycle  # while reading a head: the previous request's, if any
            if self._reading_body:
                answer = not cycle.response_started
                cycle.response_complete = cycle.disconnected = True  # receive(): disconnect
            else:
                answer = cycle is None or cycle.response_complete
            if answer:
                self.transport.write(REQUEST_TIMEOUT_RESPONSE)
            self.transport.close()

    return GuardedHttpToolsProtocol
