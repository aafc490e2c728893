"""What every door knows about one call, and the shape of a method handler.

The gRPC door, the REST door and the MCP door each build a `CallContext` and
call the same `UnaryHandler`; auth, deadlines and errors therefore behave the
same whichever door a request used.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from google.protobuf.message import Message

from coordinator.ids import new_request_id

if TYPE_CHECKING:
    from coordinator.auth import Principal

Door = Literal["grpc", "http", "mcp"]

# A caller's request id: 1 to 128 printable ASCII characters, the same on every door.
MAX_REQUEST_ID_CHARS = 128
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}\Z")


def request_id_from(given: str | None) -> str:
    """The caller's request id when it is acceptable, else a new one (never an error:
    the id is for tracing, and a bad one must not cost the caller its answer)."""
    if given and _REQUEST_ID.match(given):
        return given
    return new_request_id()


@dataclass(slots=True)
class CallContext:
    """One incoming call, independent of the door it came through.

    `metadata` keys are lower case (gRPC metadata spelling, e.g. "x-api-key").
    `deadline` is on the `time.monotonic()` clock, or None for no deadline.
    `principal` is set by the handler once the caller's key is checked
    (`coordinator.auth`); None before that, and for Health.
    """

    door: Door
    method: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    deadline: float | None = None
    request_id: str = field(default_factory=new_request_id)
    principal: Principal | None = None

    @property
    def key_id(self) -> str | None:
        """The id of the caller's API key (never the key), when one was checked."""
        return self.principal.key_id if self.principal is not None else None

    def may_reach(self, target: str) -> bool:
        """False when the caller's key is limited to other targets."""
        return self.principal is None or self.principal.may_reach(target)

    def time_remaining(self) -> float | None:
        """Seconds left before the deadline (never negative), or None."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())


UnaryHandler = Callable[[Message, CallContext], Awaitable[Message]]
"""Serves one unary RPC: request message and call in, response message out.

Raises `coordinator.errors.CoordinatorError` for every failure a caller may see.
"""

ServiceHandlers = Mapping[str, UnaryHandler]
"""Handlers of one service, keyed by the method's short name ("Route")."""
