"""What a request asks a target to do, validated, and the MCP request it becomes.

A request carries exactly one of three forms (README, "The API"):
`query` (the target's query tool), `tool` + `arguments` (tools/call) or
`method` + `params` (any other MCP request).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from coordinator.errors import invalid_argument

OperationKind = Literal["query", "tool", "method"]

MAX_QUERY_CHARS = 32_768
MAX_NAME_CHARS = 256
_METHOD = re.compile(r"^[a-z][a-zA-Z0-9_]*(/[a-zA-Z0-9_]+)*$")
# Lifecycle messages belong to the coordinator's own session with each target.
_RESERVED_METHODS = frozenset({"initialize", "ping", "server/discover"})


class ToolSchema(Protocol):
    """What the coordinator needs to know of a target's tool."""

    def accepts(self, prop: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Operation:
    kind: OperationKind
    query: str = ""
    context: Mapping[str, Any] | None = None
    tool: str = ""
    arguments: Mapping[str, Any] | None = None
    method: str = ""
    params: Mapping[str, Any] | None = None

    @staticmethod
    def parse(
        *,
        query: str = "",
        context: Mapping[str, Any] | None = None,
        tool: str = "",
        arguments: Mapping[str, Any] | None = None,
        method: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> Operation:
        """Validates the fields of a request; raises INVALID_ARGUMENT naming the field."""
        given = [
            name for name, value in (("query", query), ("tool", tool), ("method", method)) if value
        ]
        if not given:
            raise invalid_argument("query", "one of query, tool or method is required")
        if len(given) > 1:
            raise invalid_argument(
                given[1], f"give exactly one of query, tool or method; got {' and '.join(given)}"
            )
        if arguments and not tool:
            raise invalid_argument("arguments", "only allowed together with tool")
        if params and not method:
            raise invalid_argument("params", "only allowed together with method")
        if query:
            if len(query) > MAX_QUERY_CHARS:
                raise invalid_argument(
                    "query", f"too long: {len(query)} characters, at most {MAX_QUERY_CHARS}"
                )
            if not query.strip():
                raise invalid_argument("query", "must not be blank")
            return Operation("query", query=query, context=context)
        if tool:
            if len(tool) > MAX_NAME_CHARS:
                raise invalid_argument("tool", f"too long: at most {MAX_NAME_CHARS} characters")
            return Operation("tool", tool=tool, arguments=arguments, context=context)
        if len(method) > MAX_NAME_CHARS or not _METHOD.match(method):
            raise invalid_argument("method", f"{method[:64]!r} is not an MCP method name")
        if method in _RESERVED_METHODS or method.startswith("notifications/"):
            raise invalid_argument("method", f"{method!r} is managed by the coordinator itself")
        if method == "tools/call" and not (params and params.get("name")):
            raise invalid_argument("params.name", "tools/call needs the tool name in params.name")
        return Operation("method", method=method, params=params, context=context)

    @property
    def label(self) -> str:
        """Short, bounded description for logs and aggregation (never the query text)."""
        if self.kind == "tool":
            return f"tool:{self.tool}"
        if self.kind == "method":
            return self.method
        return "query"

    @property
    def called_tool(self) -> str | None:
        """The tool a tools/call names, or None for other operations (query excluded)."""
        if self.kind == "tool":
            return self.tool
        if self.kind == "method" and self.method == "tools/call" and self.params:
            name = self.params.get("name")
            return name if isinstance(name, str) else None
        return None

    def to_mcp(self, query_tool: str, tool: ToolSchema | None) -> tuple[str, dict[str, Any]]:
        """The MCP (method, params) sent to a target.

        `tool` is the target's query tool (for a query), when its schema is known:
        `context` is passed only if that schema declares it.
        """
        if self.kind == "query":
            arguments: dict[str, Any] = {"query": self.query}
            if self.context and tool is not None and tool.accepts("context"):
                arguments["context"] = dict(self.context)
            return "tools/call", {"name": query_tool, "arguments": arguments}
        if self.kind == "tool":
            return "tools/call", {"name": self.tool, "arguments": dict(self.arguments or {})}
        return self.method, dict(self.params or {})
