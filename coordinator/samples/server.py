"""The sample Odoo-like MCP server: a few expenses, skills and records.

Production and lab data differ visibly: every answer carries `server` and
`environment`, and lab records say "lab" in their descriptions, so a test can
tell which server answered.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ToolAnnotations
from pydantic import Field

Environment = Literal["production", "lab"]

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
MUTATING = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False)

MODELS = ("hr.expense", "hr.skill", "res.partner")


def sample_data(environment: Environment) -> dict[str, list[dict[str, Any]]]:
    """The records one server starts with; lab data is visibly not production data."""
    lab = environment == "lab"
    expenses = [
        {
            "id": 1,
            "employee": "Alice Martin",
            "amount": 120.50,
            "currency": "EUR",
            "state": "approved",
        },
        {
            "id": 2,
            "employee": "Bruno Keller",
            "amount": 89.90,
            "currency": "EUR",
            "state": "submitted",
        },
        {"id": 3, "employee": "Chen Wei", "amount": 1450.00, "currency": "USD", "state": "draft"},
    ]
    skills = [
        {"employee": "Alice Martin", "skill": "Accounting", "level": "expert"},
        {"employee": "Bruno Keller", "skill": "Python", "level": "advanced"},
        {"employee": "Chen Wei", "skill": "Odoo migration", "level": "intermediate"},
    ]
    partners = [
        {"id": 1, "name": "Acme Corp", "country": "FR"},
        {"id": 2, "name": "Globex", "country": "DE"},
    ]
    if lab:
        expenses.append(
            {"id": 4, "employee": "Test User", "amount": 1.00, "currency": "EUR", "state": "draft"}
        )
        skills.append({"employee": "Test User", "skill": "OCA modules", "level": "beginner"})
        partners.append({"id": 3, "name": "Lab Fixture Partner", "country": "BE"})
    for group in (expenses, skills, partners):
        for record in group:
            record["environment"] = environment
    return {"hr.expense": expenses, "hr.skill": skills, "res.partner": partners}


@dataclass
class SampleState:
    """What one sample server knows and has done; tests read it through `count_calls`."""

    name: str
    environment: Environment
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tool_calls: int = 0
    creates: int = 0

    def stamp(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"server": self.name, "environment": self.environment, **payload}


def build_sample_server(name: str, environment: Environment) -> MCPServer:
    """An `MCPServer` with the sample tools, resources and prompt."""
    if environment not in ("production", "lab"):
        raise ValueError(f"environment must be 'production' or 'lab', got {environment!r}")
    state = SampleState(name=name, environment=environment, records=sample_data(environment))
    server = MCPServer(
        name,
        version="0.1.0",
        instructions=f"Sample Odoo {environment} server {name!r}.",
        log_level="WARNING",
    )

    @server.tool(
        annotations=READ_ONLY, description="Answer a natural-language question about the data."
    )
    async def query(query: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
        state.tool_calls += 1
        text = query.lower()
        answer: dict[str, Any]
        if "expense" in text:
            answer = {"kind": "expenses", "records": copy.deepcopy(state.records["hr.expense"])}
        elif "skill" in text:
            answer = {"kind": "skills", "records": copy.deepcopy(state.records["hr.skill"])}
        elif "partner" in text or "customer" in text:
            answer = {"kind": "partners", "records": copy.deepcopy(state.records["res.partner"])}
        else:
            answer = {
                "kind": "unknown",
                "records": [],
                "hint": "ask about expenses, skills or partners",
            }
        return state.stamp({"query": query, "context": context, **answer})

    @server.tool(annotations=READ_ONLY, description="List all expenses.")
    async def list_expenses() -> dict[str, Any]:
        state.tool_calls += 1
        return state.stamp({"expenses": copy.deepcopy(state.records["hr.expense"])})

    @server.tool(annotations=READ_ONLY, description="List employee skills.")
    async def list_skills() -> dict[str, Any]:
        state.tool_calls += 1
        return state.stamp({"skills": copy.deepcopy(state.records["hr.skill"])})

    @server.tool(annotations=READ_ONLY, description="Read one record of a model by id.")
    async def get_record(model: str, record_id: int) -> dict[str, Any]:
        state.tool_calls += 1
        if model not in state.records:
            # A protocol error (-32602), not a tool error: the caller named no known model.
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"unknown model {model!r}",
                data={"models": list(MODELS)},
            )
        for record in state.records[model]:
            if record.get("id") == record_id:
                return state.stamp({"model": model, "record": copy.deepcopy(record)})
        raise ToolError(f"{model} record {record_id} does not exist on {name} ({environment})")

    @server.tool(annotations=MUTATING, description="Create a record (not idempotent).")
    async def create_record(model: str, values: dict[str, Any]) -> dict[str, Any]:
        state.tool_calls += 1
        if model not in state.records:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"unknown model {model!r}",
                data={"models": list(MODELS)},
            )
        state.creates += 1
        existing = [int(r["id"]) for r in state.records[model] if isinstance(r.get("id"), int)]
        record = {**values, "id": max(existing, default=0) + 1, "environment": environment}
        state.records[model].append(record)
        return state.stamp({"model": model, "record": record, "creates": state.creates})

    @server.tool(annotations=READ_ONLY, description="Sleep, then answer (for timeout tests).")
    async def slow(seconds: float) -> dict[str, Any]:
        state.tool_calls += 1
        await anyio.sleep(max(0.0, seconds))
        return state.stamp({"slept": seconds})

    @server.tool(annotations=READ_ONLY, description="A result of about `size` bytes.")
    async def blob(size: int) -> dict[str, Any]:
        state.tool_calls += 1
        return state.stamp({"data": "x" * max(0, min(size, 64 * 1024 * 1024))})

    @server.tool(
        annotations=READ_ONLY,
        description=(
            "JSON nested `depth` levels deep around a string of `size` bytes: lists,"
            ' objects ({"k": ...}) or both in turn (`shape`).'
        ),
    )
    async def nested(
        depth: int, size: int = 0, shape: Literal["list", "object", "mixed"] = "list"
    ) -> dict[str, Any]:
        state.tool_calls += 1
        payload: Any = "x" * max(0, min(size, 64 * 1024 * 1024))
        for level in range(max(0, min(depth, 10_000))):
            as_object = shape == "object" or (shape == "mixed" and level % 2 == 0)
            payload = {"k": payload} if as_object else [payload]
        return state.stamp({"nested": payload})

    @server.tool(
        annotations=READ_ONLY,
        description="Expenses of one region (the region also travels as Mcp-Param-Region).",
    )
    async def regional_expenses(
        region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})],
    ) -> dict[str, Any]:
        state.tool_calls += 1
        return state.stamp({"region": region, "expenses": len(state.records.get("hr.expense", []))})

    @server.tool(annotations=READ_ONLY, description="How many tool calls this server has served.")
    async def count_calls() -> dict[str, Any]:
        state.tool_calls += 1
        return state.stamp({"tool_calls": state.tool_calls, "creates": state.creates})

    @server.tool(
        annotations=READ_ONLY, description="The X-* and Authorization headers of this request."
    )
    async def request_headers(ctx: Context) -> dict[str, Any]:
        state.tool_calls += 1
        headers = ctx.headers or {}
        shown = {
            k.lower(): v
            for k, v in headers.items()
            if k.lower().startswith("x-") or k.lower() == "authorization"
        }
        return state.stamp({"headers": shown})

    @server.tool(
        annotations=READ_ONLY,
        description="The W3C trace context this request carried: HTTP headers and params._meta.",
    )
    async def trace_context(ctx: Context) -> dict[str, Any]:
        state.tool_calls += 1
        headers = {k.lower(): v for k, v in (ctx.headers or {}).items()}
        meta: dict[str, Any] = dict(ctx.request_context.meta or {})
        keys = ("traceparent", "tracestate")
        return state.stamp(
            {
                "headers": {k: headers[k] for k in keys if k in headers},
                "meta": {k: meta[k] for k in keys if k in meta},
            }
        )

    @server.tool(annotations=MUTATING, description="Register a new tool and announce the change.")
    async def add_tool(tool_name: str, ctx: Context) -> dict[str, Any]:
        state.tool_calls += 1

        def added() -> dict[str, Any]:
            state.tool_calls += 1
            return state.stamp({"tool": tool_name})

        server.add_tool(added, name=tool_name, description=f"Added at run time: {tool_name}")
        # 2026-07-28 clients hear it on their subscriptions/listen streams; a
        # 2025-11-25 session on its GET stream (or stdout, over stdio).
        await ctx.notify_tools_changed()
        if ctx.protocol_version != "2026-07-28":
            await ctx.session.send_tool_list_changed()
        return state.stamp({"added": tool_name})

    @server.resource(f"odoo://{name}/models", name="models", mime_type="application/json")
    def models() -> dict[str, Any]:
        return state.stamp({"models": list(MODELS)})

    @server.resource(f"odoo://{name}/environment", name="environment", mime_type="text/plain")
    def environment_resource() -> str:
        return f"{name} serves the {environment} environment"

    @server.prompt(description="Summarize the expenses of one employee, or of everyone.")
    def summarize_expenses(employee: str | None = None) -> str:
        who = employee or "all employees"
        return f"Summarize the {environment} expenses of {who} on {name}."

    return server
