from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from coordinator.cache import cacheable, storable


@dataclass(frozen=True)
class Tool:
    """Shaped like targets.ToolInfo: annotations as sent by the server, plus read_only."""

    name: str
    annotations: Mapping[str, Any] = field(default_factory=dict)

    @property
    def read_only(self) -> bool:
        return self.annotations.get("readOnlyHint") is True


ASK = Tool("ask", {"readOnlyHint": True})
CREATE_INVOICE = Tool("create_invoice", {"readOnlyHint": False, "destructiveHint": False})
UNANNOTATED = Tool("sync")


@pytest.mark.parametrize(
    "method",
    [
        "tools/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "prompts/list",
        "prompts/get",
    ],
)
def test_read_only_methods_are_cacheable(method: str) -> None:
    assert cacheable(method, {}, None)


@pytest.mark.parametrize(
    "method",
    ["initialize", "resources/subscribe", "completion/complete", "logging/setLevel", "ping"],
)
def test_other_methods_are_not(method: str) -> None:
    assert not cacheable(method, {}, ASK)


def test_call_of_a_tool_annotated_read_only_is_cacheable() -> None:
    assert cacheable("tools/call", {"name": "ask", "arguments": {"query": "x"}}, ASK)


@pytest.mark.parametrize("tool", [CREATE_INVOICE, UNANNOTATED, None])
def test_call_of_a_mutating_or_unknown_tool_is_not(tool: Tool | None) -> None:
    name = tool.name if tool is not None else "ask"
    assert not cacheable("tools/call", {"name": name, "arguments": {}}, tool)


def test_tool_information_for_another_tool_does_not_count() -> None:
    assert not cacheable("tools/call", {"name": "create_invoice", "arguments": {}}, ASK)


def test_read_only_flag_and_annotation_must_agree() -> None:
    @dataclass(frozen=True)
    class Disagreeing:
        annotations: Mapping[str, Any]
        read_only: bool

    assert not cacheable("tools/call", {"name": "x"}, Disagreeing({"readOnlyHint": False}, True))
    assert not cacheable("tools/call", {"name": "x"}, Disagreeing({}, True))
    assert not cacheable("tools/call", {"name": "x"}, Disagreeing({"readOnlyHint": True}, False))


def test_answers_are_storable() -> None:
    assert storable({"content": [{"type": "text", "text": "42"}], "isError": False})
    assert storable({"tools": []})
    assert storable({"target": "odoo_prod", "reason": "default"})


@pytest.mark.parametrize(
    "result",
    [
        None,
        {"content": [{"type": "text", "text": "no such partner"}], "isError": True},
        {"error": {"code": -32602, "message": "Invalid params"}},
        RuntimeError("upstream down"),
    ],
)
def test_errors_are_not_storable(result: object) -> None:
    assert not storable(result)
