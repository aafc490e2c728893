"""What may be cached: pure predicates, no I/O.

Only read-only operations are cached. A `tools/call` is read-only only when the
target annotates that tool with ``readOnlyHint: true``; anything else (no tool
information, a missing or false hint) is treated as mutating and never cached.
Results are stored only when they are answers, not errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# MCP methods whose results depend only on the server's state, never change it.
READ_ONLY_METHODS = frozenset(
    {
        "tools/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "prompts/list",
        "prompts/get",
    }
)
TOOL_CALL = "tools/call"


class ToolLike(Protocol):
    """What the cache needs to know about a target's tool."""

    @property
    def annotations(self) -> Mapping[str, Any]: ...

    @property
    def read_only(self) -> bool: ...


def cacheable(method: str, params: Mapping[str, Any] | None, tool: ToolLike | None) -> bool:
    """True when the response to this request may be cached.

    For `tools/call`, `tool` describes the tool that `params["name"]` names; it
    must be read-only by both its `read_only` flag and its annotations (fail
    closed if they disagree), and its `name`, when it has one, must match.
    """
    if method in READ_ONLY_METHODS:
        return True
    if method != TOOL_CALL or tool is None:
        return False
    called = params.get("name") if params is not None else None
    declared = getattr(tool, "name", None)
    if declared is not None and called != declared:
        return False
    return tool.read_only is True and tool.annotations.get("readOnlyHint") is True


def storable(result: Any) -> bool:
    """True when `result` is an answer that may be stored.

    Not stored: nothing (None), exceptions, MCP tool results with a truthy
    ``isError``, and JSON-RPC error objects (a top-level ``error`` member).
    """
    if result is None or isinstance(result, BaseException):
        return False
    if isinstance(result, Mapping):
        return not result.get("isError") and "error" not in result
    return True
