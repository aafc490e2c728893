"""`ScriptedTarget`: a target inside the test process that does what the test tells it.

A stand-in for an MCP server, named as such: it runs none of the protocol, only the `Target`
contract the core relies on (tools/list, tools/call, the errors of `coordinator.targets`). The
real-process tests (tests/integration) prove the same paths against real servers; this one lets
the service layer be tested in milliseconds, with a manual clock and a recorded sleep.

    target = ScriptedTarget("odoo_prod")
    target.behaviour = "refuse"    # answer | refuse | reset | hang | mcp_error
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from coordinator.config import TargetConfig
from coordinator.targets import McpErrorResponse, Target, TargetUnavailable
from coordinator.targets.base import Progress, TransportName

Behaviour = Literal["answer", "refuse", "reset", "hang", "mcp_error"]

READ_ONLY = {"readOnlyHint": True}
MUTATING = {"readOnlyHint": False}
QUERY_SCHEMA = {"type": "object", "properties": {"query": {"type": "string"}}}


class ScriptedTarget(Target):
    """Answers `tools/list` with `tools` and `tools/call` with `{"server": name, ...}`."""

    transport: ClassVar[TransportName] = "http"

    def __init__(self, name: str, *, group: str | None = None, **config: Any) -> None:
        super().__init__(TargetConfig(name=name, url="http://scripted/mcp", group=group, **config))
        self.behaviour: Behaviour = "answer"
        self.tools: dict[str, Mapping[str, Any]] = {
            "query": {"inputSchema": QUERY_SCHEMA, "annotations": READ_ONLY},
            "list_skills": {"annotations": READ_ONLY},
            "create_record": {"annotations": MUTATING},
        }
        self.answer: Any = None  # what tools/call returns instead of the default, when set
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every request that reached it
        self.released = asyncio.Event()  # a hanging call answers once this is set
        self.call_arrived = asyncio.Event()  # set by every tools/call that reaches it

    @property
    def protocol_version(self) -> str | None:
        return "scripted"

    @property
    def tool_calls(self) -> list[str]:
        return [str(params.get("name")) for method, params in self.calls if method == "tools/call"]

    async def _start(self) -> None:
        pass

    async def _close(self) -> None:
        pass

    async def _request(
        self, method: str, params: dict[str, Any], progress: Progress
    ) -> dict[str, Any]:
        if self.behaviour == "refuse":
            raise TargetUnavailable(self.name, "refused", "connection refused", may_have_run=False)
        progress.sent = True
        self.calls.append((method, params))
        if method == "tools/call":
            self.call_arrived.set()
        if self.behaviour == "reset":
            raise TargetUnavailable(self.name, "reset", "connection reset mid-request")
        if self.behaviour == "hang":
            await self.released.wait()
        if self.behaviour == "mcp_error":
            raise McpErrorResponse(-32602, "invalid params")
        if method == "tools/list":
            return {"tools": [{"name": n, **tool} for n, tool in self.tools.items()]}
        if method == "tools/call":
            if self.answer is not None:
                return dict(self.answer) if isinstance(self.answer, dict) else self.answer
            name = params.get("name")
            return {"structuredContent": {"server": self.name, "tool": name}, "isError": False}
        return {"server": self.name, "method": method}
