"""One merged catalogue of every target's tools, resources, resource templates and prompts.

Merging rules (the same for tools and prompts):
- a name that one target offers keeps its name;
- a name that several targets offer with the same definition (input schema,
  or prompt arguments) is listed once and routed by the policy, with failover;
- a name that means different things on different targets is listed once per
  target as `<target>__<name>`, pinned to that target.
Resources are keyed by URI and templates by URI template; several owners of
one URI share the entry. Names the coordinator uses itself (its `aggregate`
tool) are always prefixed.

`merge_named` and `merge_keyed` are pure; `Catalogue` keeps the targets'
lists, refetches a list after the target says it changed, and tells its
listeners which kind changed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from mcp.shared.uri_template import UriTemplate

from coordinator.targets import McpErrorResponse, Target, TargetError, ToolInfo

log = logging.getLogger(__name__)

Kind = Literal["tools", "resources", "prompts"]
ChangeListener = Callable[[Kind], None]

SEPARATOR = "__"
MCP_TOOL_NAME_CHARS = 128  # MCP's limit on a tool name as hosts see it (an operation's is 256)
MAX_LIST_PAGES = 20
_NO_TOOLS: Mapping[str, ToolInfo] = MappingProxyType({})
_CHANGED: dict[str, Kind] = {
    "notifications/tools/list_changed": "tools",
    "notifications/resources/list_changed": "resources",
    "notifications/prompts/list_changed": "prompts",
}
# The list methods behind each kind (the key of the items in each result).
_LISTS: dict[str, tuple[str, Kind]] = {
    "resources/list": ("resources", "resources"),
    "resources/templates/list": ("resourceTemplates", "resources"),
    "prompts/list": ("prompts", "prompts"),
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One listed item: what hosts see, and where it lives."""

    listed: str  # the name (or URI, URI template) hosts see
    upstream: str  # the name (or URI, URI template) on the targets
    owners: tuple[str, ...]  # the targets that offer it, in configuration order
    pinned: str | None  # set for a `<target>__<name>` entry
    definition: Mapping[str, Any]  # the item as listed to hosts


def prefixed(target: str, name: str) -> str:
    return f"{target}{SEPARATOR}{name}"[:MCP_TOOL_NAME_CHARS]


def merge_named(
    items: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    same: Callable[[Mapping[str, Any], Mapping[str, Any]], bool],
    reserved: Collection[str] = (),
) -> dict[str, Entry]:
    """Merges named items (tools, prompts) of several targets, keyed by listed name.

    `items` maps target names (in configuration order) to their items.
    """
    by_name: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for target, listed in items.items():
        for item in listed:
            name = item.get("name")
            if isinstance(name, str) and name:
                by_name.setdefault(name, []).append((target, item))
    merged: dict[str, Entry] = {}
    for name, offers in by_name.items():
        first = offers[0][1]
        if name not in reserved and all(same(first, item) for _, item in offers[1:]):
            owners = tuple(target for target, _ in offers)
            merged.setdefault(name, Entry(name, name, owners, None, first))
            continue
        for target, item in offers:
            own = prefixed(target, name)
            merged.setdefault(own, Entry(own, name, (target,), target, {**item, "name": own}))
    return merged


def merge_keyed(items: Mapping[str, Sequence[Mapping[str, Any]]], key: str) -> dict[str, Entry]:
    """Merges items keyed by a URI (resources) or URI template; the first definition is listed."""
    merged: dict[str, Entry] = {}
    for target, listed in items.items():
        for item in listed:
            value = item.get(key)
            if not isinstance(value, str) or not value:
                continue
            known = merged.get(value)
            if known is None:
                merged[value] = Entry(value, value, (target,), None, item)
            else:
                owners = (*known.owners, target)
                merged[value] = Entry(value, value, owners, None, known.definition)
    return merged


def same_tool(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.get("inputSchema") == b.get("inputSchema")


def same_prompt(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return (a.get("arguments") or []) == (b.get("arguments") or [])


@dataclass(slots=True)
class _Lists:
    """One of a target's resource or prompt lists, as last fetched."""

    items: list[Mapping[str, Any]]
    expires: float


class Catalogue:
    """The merged view over fixed targets, kept current by their notifications."""

    def __init__(
        self,
        targets: Mapping[str, Target],
        *,
        list_timeout: float,
        reserved_tools: Collection[str] = (),
        reachable: Callable[[str], bool] = lambda name: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`reachable(name)` is False for a target known to be down (health probes,
        open breaker): its lists are then not fetched, so a frozen target does not
        hold up every list a host asks for."""
        self._targets = dict(targets)
        self._reachable = reachable
        self._list_timeout = list_timeout
        self._reserved_tools = frozenset(reserved_tools)
        self._clock = clock
        self._lists: dict[str, dict[str, _Lists]] = {name: {} for name in self._targets}
        self._stale_tools: set[str] = set()
        # Targets whose tool list could not be fetched: any tool may be theirs.
        self.unlisted: set[str] = set()
        # The tool lists last merged (compared by identity) and the merge.
        self._merged_tools: tuple[tuple[Mapping[str, ToolInfo], ...], dict[str, Entry]] | None = (
            None
        )
        self._listeners: list[ChangeListener] = []
        self._unsubscribe = [
            target.add_notification_listener(self._on_notification)
            for target in self._targets.values()
        ]

    def close(self) -> None:
        for remove in self._unsubscribe:
            remove()
        self._unsubscribe.clear()

    def add_listener(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    # ------------------------------------------------------------------ tools

    async def tools(self) -> dict[str, Entry]:
        """The merged tools; a target's list is fetched only when none is known
        yet or it announced a change, and merged again only when one changed."""
        at_hand = [self._tools_at_hand(t) for t in self._targets.values()]
        if all(tools is not None for tools in at_hand):  # the usual case: no I/O, no tasks
            lists = tuple(tools for tools in at_hand if tools is not None)
        else:
            lists = tuple(
                await asyncio.gather(*(self._tools_of(t) for t in self._targets.values()))
            )
        known = self._merged_tools
        if known is not None and all(a is b for a, b in zip(known[0], lists, strict=True)):
            return known[1]
        merged = merge_named(
            {
                name: [tool.raw for tool in tools.values()]
                for name, tools in zip(self._targets, lists, strict=True)
            },
            same=same_tool,
            reserved=self._reserved_tools,
        )
        self._merged_tools = (lists, merged)
        return merged

    def input_schema(self, listed: str) -> Mapping[str, Any] | None:
        """The input schema of a listed tool, from the last merge (no I/O)."""
        entry = self._merged_tools[1].get(listed) if self._merged_tools else None
        schema = entry.definition.get("inputSchema") if entry is not None else None
        return schema if isinstance(schema, Mapping) else None

    def _tools_at_hand(self, target: Target) -> Mapping[str, ToolInfo] | None:
        """The target's tools without I/O, or None when its list must be fetched."""
        tools = target.tools_cached
        if tools is None and not self._reachable(target.name):
            self.unlisted.add(target.name)
            return _NO_TOOLS
        if tools is None or target.name in self._stale_tools:
            return None
        self.unlisted.discard(target.name)
        return tools

    async def _tools_of(self, target: Target) -> Mapping[str, ToolInfo]:
        tools = self._tools_at_hand(target)
        if tools is not None:
            return tools
        self._stale_tools.discard(target.name)
        try:
            tools = await target.list_tools(timeout=self._list_timeout)
        except (TargetError, McpErrorResponse) as exc:
            log.info("catalogue: no tool list from %s: %s", target.name, exc)
            self.unlisted.add(target.name)
            return _NO_TOOLS
        self.unlisted.discard(target.name)
        return tools

    # ------------------------------------------------------------ resources, prompts

    async def resources(self) -> dict[str, Entry]:
        return merge_keyed(await self._gathered("resources/list"), "uri")

    async def resource_templates(self) -> dict[str, Entry]:
        return merge_keyed(await self._gathered("resources/templates/list"), "uriTemplate")

    async def prompts(self) -> dict[str, Entry]:
        return merge_named(await self._gathered("prompts/list"), same=same_prompt)

    async def resource_owners(self, uri: str) -> tuple[str, ...]:
        """The targets that listed `uri`, or whose URI templates match it."""
        listed = (await self.resources()).get(uri)
        if listed is not None:
            return listed.owners
        owners: list[str] = []
        for entry in (await self.resource_templates()).values():
            try:
                matched = UriTemplate.parse(entry.upstream).match(uri)
            except ValueError:
                continue
            if matched is not None:
                owners += [o for o in entry.owners if o not in owners]
        return tuple(owners)

    async def _gathered(self, method: str) -> dict[str, list[Mapping[str, Any]]]:
        names = list(self._targets)
        lists = await asyncio.gather(*(self._list_of(name, method) for name in names))
        return dict(zip(names, lists, strict=True))

    async def _list_of(self, name: str, method: str) -> list[Mapping[str, Any]]:
        known = self._lists[name].get(method)
        if known is not None and self._clock() < known.expires:
            return known.items
        if not self._reachable(name):
            return known.items if known is not None else []
        target = self._targets[name]
        key, _ = _LISTS[method]
        items: list[Mapping[str, Any]] = []
        cursor: str | None = None
        try:
            for _ in range(MAX_LIST_PAGES):
                params = {"cursor": cursor} if cursor else {}
                page = await target.request(method, params, timeout=self._list_timeout)
                items += [i for i in page.get(key) or () if isinstance(i, Mapping)]
                next_cursor = page.get("nextCursor")
                if not isinstance(next_cursor, str) or not next_cursor or next_cursor == cursor:
                    break
                cursor = next_cursor
        except McpErrorResponse:
            items = []  # the target does not offer this list: an empty one, kept
        except TargetError as exc:
            log.info("catalogue: no %s from %s: %s", method, name, exc)
            return items  # not kept: asked again next time
        self._lists[name][method] = _Lists(items, self._clock() + target.config.tools_ttl)
        return items

    # ------------------------------------------------------------------ changes

    def _on_notification(self, target: Target, method: str, params: Mapping[str, Any]) -> None:
        kind = _CHANGED.get(method)
        if kind is None:
            return
        if kind == "tools":
            self._stale_tools.add(target.name)
        else:
            for list_method in _methods_of(kind):
                self._lists[target.name].pop(list_method, None)
        for listener in list(self._listeners):
            try:
                listener(kind)
            except Exception:
                log.exception("catalogue listener failed for %s", kind)


def _methods_of(kind: Kind) -> Iterable[str]:
    return [method for method, (_, of) in _LISTS.items() if of == kind]
