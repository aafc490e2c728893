"""Progress pass-through: a target's `notifications/progress` reaches whoever asked.

A door that wants the progress of the upstream call it is about to make sets a
sink for the current task (`progress_sink(sink)`); every `Target.request()`
made inside it asks the target for progress under a token of its own and
hands each progress notification for that token to the sink. A context
variable, not a parameter, so the core (routing, failover, cache) needs no
knowledge of it.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

ProgressSink = Callable[[Mapping[str, Any]], None]
"""Receives the params of one `notifications/progress` (progress, total, message)."""

_SINK: contextvars.ContextVar[ProgressSink | None] = contextvars.ContextVar(
    "mcp_coordinator_progress_sink", default=None
)
_TOKENS = itertools.count(1)


@contextlib.contextmanager
def progress_sink(sink: ProgressSink | None) -> Iterator[None]:
    """Sends the progress of target requests made inside the block to `sink`."""
    reset = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(reset)


def current_sink() -> ProgressSink | None:
    return _SINK.get()


def new_token(target: str) -> str:
    """A progress token unique in this process (hosts' tokens never reach a target)."""
    return f"mcp-coordinator/{target}/{next(_TOKENS)}"
