"""What can go wrong talking to one target, in two kinds.

`McpErrorResponse` is an ANSWER: the target replied with a JSON-RPC error.
Calling another target would not make the request right, so it never causes
failover. `TargetUnavailable` means no answer came: the target is down,
overloaded, too slow or broken at the transport level. `may_have_run` says
whether the request might have reached the target (only a connection that
could not be opened proves it did not), so a caller knows whether retrying a
non-idempotent call elsewhere is safe.
"""

from __future__ import annotations

from typing import Any, Literal

UnavailableKind = Literal["refused", "reset", "timeout", "http_status", "transport", "closed"]


class TargetError(Exception):
    """Base of every error a target raises."""


class McpErrorResponse(TargetError):
    """The target answered with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data

    def __repr__(self) -> str:
        return f"McpErrorResponse({self.code}, {self.message!r})"


class TargetUnavailable(TargetError):
    """No answer from the target.

    kind: "refused" (no connection could be opened), "reset" (the connection
    broke mid-request), "timeout", "http_status" (an HTTP error without a
    JSON-RPC answer: 5xx, 404 on the endpoint, ...), "transport" (unreadable
    reply, broken framing) or "closed" (the target was closed or its process
    ended).
    """

    def __init__(
        self,
        target: str,
        kind: UnavailableKind,
        message: str,
        may_have_run: bool = True,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{target}: {kind}: {message}")
        self.target = target
        self.kind = kind
        self.message = message
        self.may_have_run = may_have_run
        self.status = status

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.target!r}, {self.kind!r}, {self.message!r}, "
            f"may_have_run={self.may_have_run})"
        )


class TargetTimeout(TargetUnavailable):
    """The request did not complete within its timeout."""

    def __init__(self, target: str, message: str, may_have_run: bool = True) -> None:
        super().__init__(target, "timeout", message, may_have_run)
