"""Downstream MCP servers ("targets"): one client per target, HTTP or stdio.

    target = open_target(config)          # not yet connected
    async with target:
        call = {"name": "query", "arguments": {"query": "..."}}
        result = await target.request("tools/call", call, timeout=2.0)
        tools = await target.list_tools(timeout=2.0)

`request()` returns the JSON-RPC `result` object. A JSON-RPC error from the
target raises `McpErrorResponse` (an answer: no failover); no answer raises
`TargetUnavailable` (`TargetTimeout` for a timeout).
"""

from __future__ import annotations

from coordinator.config import TargetConfig
from coordinator.targets.base import DEFAULT_TIMEOUT, NotificationListener, Target
from coordinator.targets.errors import (
    McpErrorResponse,
    TargetError,
    TargetTimeout,
    TargetUnavailable,
    UnavailableKind,
)
from coordinator.targets.http import HttpTarget
from coordinator.targets.stdio import StdioTarget
from coordinator.targets.tools import ToolInfo

__all__ = [
    "HttpTarget",
    "McpErrorResponse",
    "NotificationListener",
    "StdioTarget",
    "Target",
    "TargetError",
    "TargetTimeout",
    "TargetUnavailable",
    "ToolInfo",
    "UnavailableKind",
    "open_target",
]


def open_target(config: TargetConfig, *, default_timeout: float = DEFAULT_TIMEOUT) -> Target:
    """The target for `config`, not yet connected: enter it with `async with`.

    `default_timeout` bounds calls that pass no `timeout` when the config sets none.
    """
    if config.transport == "stdio":
        return StdioTarget(config, default_timeout=default_timeout)
    return HttpTarget(config, default_timeout=default_timeout)
