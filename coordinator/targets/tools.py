"""`ToolInfo`: one tool of a target, as its `tools/list` described it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ToolInfo:
    name: str
    description: str = ""
    input_schema: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    annotations: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    # The tool object exactly as the target sent it (title, outputSchema, _meta, ...).
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    @property
    def read_only(self) -> bool:
        """True only when the target declared `readOnlyHint: true`."""
        return self.annotations.get("readOnlyHint") is True

    def accepts(self, prop: str) -> bool:
        """Whether the input schema declares property `prop`."""
        properties = self.input_schema.get("properties")
        return isinstance(properties, Mapping) and prop in properties

    @classmethod
    def from_json(cls, tool: Mapping[str, Any]) -> ToolInfo:
        schema = tool.get("inputSchema")
        annotations = tool.get("annotations")
        description = tool.get("description")
        return cls(
            name=str(tool["name"]),
            description=description if isinstance(description, str) else "",
            input_schema=MappingProxyType(dict(schema)) if isinstance(schema, Mapping) else _EMPTY,
            annotations=MappingProxyType(dict(annotations))
            if isinstance(annotations, Mapping)
            else _EMPTY,
            raw=MappingProxyType(dict(tool)),
        )


def tools_from_results(pages: Sequence[Mapping[str, Any]]) -> dict[str, ToolInfo]:
    """The tools of every `tools/list` result page, keyed by name (first wins)."""
    tools: dict[str, ToolInfo] = {}
    for page in pages:
        for item in page.get("tools") or ():
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                tools.setdefault(item["name"], ToolInfo.from_json(item))
    return tools
