"""Request forms and the MCP request each becomes."""

from __future__ import annotations

import pytest

from coordinator.errors import CoordinatorError
from coordinator.operations import Operation
from coordinator.targets import ToolInfo

WITH_CONTEXT = ToolInfo.from_json(
    {"name": "ask", "inputSchema": {"properties": {"query": {}, "context": {}}}}
)
WITHOUT_CONTEXT = ToolInfo.from_json({"name": "ask", "inputSchema": {"properties": {"query": {}}}})


def test_query_passes_context_only_when_the_tool_declares_it() -> None:
    operation = Operation.parse(query="expenses", context={"finance-ssc": True})
    assert operation.to_mcp("ask", WITH_CONTEXT) == (
        "tools/call",
        {"name": "ask", "arguments": {"query": "expenses", "context": {"finance-ssc": True}}},
    )
    assert operation.to_mcp("ask", WITHOUT_CONTEXT) == (
        "tools/call",
        {"name": "ask", "arguments": {"query": "expenses"}},
    )
    assert operation.to_mcp("ask", None)[1]["arguments"] == {"query": "expenses"}


def test_tool_and_method_forms() -> None:
    assert Operation.parse(tool="list_skills").to_mcp("query", None) == (
        "tools/call",
        {"name": "list_skills", "arguments": {}},
    )
    method = Operation.parse(method="resources/read", params={"uri": "odoo://x"})
    assert method.to_mcp("query", None) == ("resources/read", {"uri": "odoo://x"})
    assert method.label == "resources/read"
    call = Operation.parse(method="tools/call", params={"name": "get_record"})
    assert call.called_tool == "get_record"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "query"),
        ({"query": "a", "tool": "b"}, "tool"),
        ({"params": {"a": 1}, "tool": "b"}, "params"),
        ({"method": "notifications/initialized"}, "method"),
        ({"method": "tools/call"}, "params.name"),
        ({"query": "x" * 40_000}, "query"),
        ({"tool": "t" * 300}, "tool"),
    ],
)
def test_invalid_forms_name_the_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(CoordinatorError) as raised:
        Operation.parse(**fields)  # type: ignore[arg-type]
    assert raised.value.field == field
    assert raised.value.message.startswith(f"{field}: ")
