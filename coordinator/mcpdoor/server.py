"""The MCP server that hosts talk to: the merged catalogue, every call through the core.

Built on the SDK's low-level `Server`: its handlers answer `tools/list`,
`resources/list`, `resources/templates/list` and `prompts/list` from the
catalogue, and send every `tools/call`, `resources/read` and `prompts/get`
through `CoordinatorService.route` (or `aggregate`, for the coordinator's own
`aggregate` tool), so routing, failover, cache, usage rows, metrics and the
decision log are those of the other doors. Each answer carries the decision
in `_meta["mcp-coordinator/routing"]`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import mcp_types as types
from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.session import ServerSession
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ServerEvent,
    ToolsListChanged,
)
from mcp.shared.exceptions import MCPError
from mcp_types import SERVER_INFO_META_KEY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from coordinator import __version__, tracing
from coordinator.auth import Principal
from coordinator.calls import CallContext
from coordinator.errors import CoordinatorError, ErrorCode, Refusal, invalid_argument
from coordinator.ids import new_request_id
from coordinator.limits import DEFAULT_LIMITS, InputLimits, check_json
from coordinator.mcpdoor.catalogue import Catalogue, Entry, Kind
from coordinator.mcpdoor.inputs import ROUTING_META, RoutingInputs, call_inputs, routing_meta
from coordinator.observe import RequestObserver
from coordinator.operations import Operation
from coordinator.ratelimit import RateLimiter
from coordinator.service import AggregateCall, CoordinatorService, RequestTrace, RouteCall
from coordinator.targets import Target
from coordinator.targets.progress import progress_sink

log = logging.getLogger(__name__)

AGGREGATE_TOOL = "aggregate"
SCOPE_KEY = "mcp_coordinator.call"
MAX_LEGACY_SESSIONS = 10_000
_T = TypeVar("_T")
# The methods whose handlers send the call through `_observed` (and open its span there).
_OBSERVED_METHODS = frozenset(
    {
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "prompts/list",
        "prompts/get",
        "completion/complete",
    }
)
_CACHEABLE: tuple[CacheableMethod, ...] = (
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "server/discover",
)

_AGGREGATE_DEFINITION: dict[str, Any] = {
    "name": AGGREGATE_TOOL,
    "title": "Ask every target",
    "description": (
        "Runs the query on every target in parallel (MCP Coordinator's Aggregate) and returns"
        " each target's answer and each target's error."
    ),
    "inputSchema": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "natural-language question"},
            "context": {"type": "object", "description": "routing context, as REST `context`"},
        },
        "required": ["query"],
    },
    "annotations": {"readOnlyHint": True, "openWorldHint": True},
}

# JSON-RPC codes for the core's errors; the rest are internal errors whose message
# says what went wrong (e.g. which targets were tried).
_JSONRPC_CODES = {
    ErrorCode.INVALID_ARGUMENT: types.INVALID_PARAMS,
    ErrorCode.NOT_FOUND: types.INVALID_PARAMS,
    ErrorCode.UNIMPLEMENTED: types.METHOD_NOT_FOUND,
}


@dataclass(frozen=True, slots=True)
class Caller:
    """What the transport knows of who is calling: set per HTTP request by the
    door's ASGI app, fixed for a stdio connection."""

    inputs: RoutingInputs = field(default_factory=RoutingInputs)
    metadata: Mapping[str, str] = field(default_factory=dict)
    deadline: float | None = None
    request_id: str | None = None
    # The key's principal, once the door admitted the request (None over stdio: the host
    # runs the coordinator as its own user).
    principal: Principal | None = None
    # How the host reaches the door, as OpenTelemetry's `network.transport` names it.
    transport: Literal["tcp", "pipe"] = "tcp"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One request as the handlers need it, from the SDK's context or the fast path."""

    params: Mapping[str, Any]  # as sent, `_meta` included
    protocol_version: str
    caller: Caller
    progress: _ProgressForward | None = None
    request_id: types.RequestId | None = None  # the JSON-RPC id, for the trace


class _Server(Server[Any]):
    """The low-level server, announcing list changes to handshake-era hosts."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(True, True, True),
            experimental_capabilities,
            extensions,
        )


class McpDoor:
    """The coordinator as one MCP server; serve it with `mcpdoor.http` or `mcpdoor.stdio`."""

    def __init__(
        self,
        service: CoordinatorService,
        targets: Mapping[str, Target],
        *,
        observer: RequestObserver | None = None,
        default_caller: Caller | None = None,
        limiter: RateLimiter | None = None,
        limits: InputLimits = DEFAULT_LIMITS,
    ) -> None:
        self.service = service
        # What a request's `params` may hold (depth, string and key lengths), as on the
        # other doors; checked before anything is routed (`check_params`).
        self.limits = limits
        self.observer = observer
        # Counts a call that names its target against the key's limit on that target (the
        # key's own limit is counted when the HTTP door admits the request).
        self.limiter = limiter
        self.default_caller = default_caller or Caller()
        settings = service.settings
        self.aggregation = settings.enable_aggregation
        self.catalogue = Catalogue(
            targets,
            list_timeout=settings.per_try_timeout,
            reserved_tools=(AGGREGATE_TOOL,) if self.aggregation else (),
            reachable=service.is_reachable,
        )
        self.catalogue.add_listener(self._catalogue_changed)
        self.bus = InMemorySubscriptionBus()
        self.listen = ListenHandler(self.bus)
        # Handshake-era connections hear list changes on their own channel; the
        # latest request's session of each connection is the way to reach it.
        self._legacy: OrderedDict[str, ServerSession] = OrderedDict()
        self._background: set[asyncio.Task[None]] = set()
        self.server = _Server(
            "mcp-coordinator",
            version=__version__,
            title="MCP Coordinator",
            instructions=(
                "One MCP server in front of several: every target's tools, resources and"
                " prompts, routed by the coordinator's policy with failover."
            ),
            on_subscriptions_listen=self.listen,
            # Lists change when targets say so, and answers depend on the caller's
            # key: hosts keep nothing, and the coordinator's own cache does the work.
            cache_hints={method: CacheHint(0, "private") for method in _CACHEABLE},
            # Mcp-Param-* headers are checked against the merged catalogue, not
            # by calling tools/list again for each call.
            get_tool_input_schema=self.catalogue.input_schema,
        )
        paginated = types.PaginatedRequestParams
        handle = self.server.add_request_handler
        handle("tools/list", paginated, self._list_tools)
        handle("tools/call", types.CallToolRequestParams, self._call_tool)
        handle("resources/list", paginated, self._list_resources)
        handle("resources/templates/list", paginated, self._list_resource_templates)
        handle("resources/read", types.ReadResourceRequestParams, self._read_resource)
        handle("prompts/list", paginated, self._list_prompts)
        handle("prompts/get", types.GetPromptRequestParams, self._get_prompt)
        handle("completion/complete", types.CompleteRequestParams, self._complete)
        # The handlers above open their request's span (in `_observed`); this one opens it
        # for the rest (initialize, ping, logging/setLevel...).
        self.server.middleware.append(self._span_unobserved)

    def close(self) -> None:
        self.listen.close()
        self.catalogue.close()
        for task in list(self._background):
            task.cancel()

    # ------------------------------------------------------------------ lists

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams
    ) -> dict[str, Any]:
        async def body(call: CallContext, trace: RequestTrace) -> dict[str, Any]:
            tools = [dict(entry.definition) for entry in (await self.catalogue.tools()).values()]
            if self.aggregation:
                tools.append(_AGGREGATE_DEFINITION)
            return {"tools": tools}

        return await self._observed(self._incoming(ctx), "tools/list", body, traced=False)

    async def _list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams
    ) -> dict[str, Any]:
        async def body(call: CallContext, trace: RequestTrace) -> dict[str, Any]:
            resources = await self.catalogue.resources()
            return {"resources": [dict(e.definition) for e in resources.values()]}

        return await self._observed(self._incoming(ctx), "resources/list", body, traced=False)

    async def _list_resource_templates(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams
    ) -> dict[str, Any]:
        async def body(call: CallContext, trace: RequestTrace) -> dict[str, Any]:
            templates = await self.catalogue.resource_templates()
            return {"resourceTemplates": [dict(e.definition) for e in templates.values()]}

        return await self._observed(
            self._incoming(ctx), "resources/templates/list", body, traced=False
        )

    async def _list_prompts(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams
    ) -> dict[str, Any]:
        async def body(call: CallContext, trace: RequestTrace) -> dict[str, Any]:
            prompts = await self.catalogue.prompts()
            return {"prompts": [dict(e.definition) for e in prompts.values()]}

        return await self._observed(self._incoming(ctx), "prompts/list", body, traced=False)

    # ------------------------------------------------------------------ calls

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> dict[str, Any]:
        incoming = self._incoming(ctx, check=False)  # call_tool checks the params
        return await self.call_tool(incoming, params.name, params.arguments)

    async def call_tool(
        self, incoming: Incoming, name: str, arguments: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """`tools/call`, from the SDK's handler or the door's fast path."""
        self.check_params(incoming.params)
        if name == AGGREGATE_TOOL and self.aggregation:
            return await self._observed(
                incoming,
                "tools/call",
                lambda call, trace: self._aggregate(incoming, arguments or {}, call, trace),
            )

        async def body(call: CallContext, trace: RequestTrace) -> dict[str, Any]:
            entry = (await self.catalogue.tools()).get(name)
            if entry is None and self.catalogue.unlisted:
                # Not listed, but a target whose list is unknown may have it: the
                # core tries those and says what happened.
                owners = tuple(
                    t for t in self.service.settings.target_names if t in self.catalogue.unlisted
                )
                entry = Entry(name, name, owners, None, {})
            if entry is None:
                raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {name}")
            inputs = call_inputs(incoming.caller.inputs, incoming.params)
            operation = Operation.parse(
                tool=entry.upstream, arguments=arguments, context=inputs.context
            )
            return await self._route(incoming, entry, operation, inputs, call, trace)

        return await self._observed(incoming, "tools/call", body)

    async def _read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> dict[str, Any]:
        incoming = self._incoming(ctx)

        async def body(call: CallContext, trace: RequestTrace) -> dict[str, Any]:
            owners = await self.catalogue.resource_owners(params.uri)
            if not owners:
                raise MCPError(
                    types.INVALID_PARAMS,
                    f"Resource not found: no target lists {params.uri}",
                    {"uri": params.uri},
                )
            entry = Entry(params.uri, params.uri, owners, None, {})
            inputs = call_inputs(incoming.caller.inputs, incoming.params)
            operation = Operation.parse(
                method="resources/read", params={"uri": params.uri}, context=inputs.context
            )
            return await self._route(incoming, entry, operation, inputs, call, trace)

        return await self._observed(incoming, "resources/read", body)

    async def _get_prompt(
        self, ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams
    ) -> dict[str, Any]:
        incoming = self._incoming(ctx)

        async def body(call: CallContext, trace: RequestTrace) -> dict[str, Any]:
            entry = (await self.catalogue.prompts()).get(params.name)
            if entry is None:
                raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {params.name}")
            inputs = call_inputs(incoming.caller.inputs, incoming.params)
            upstream: dict[str, Any] = {"name": entry.upstream}
            if params.arguments is not None:
                upstream["arguments"] = params.arguments
            operation = Operation.parse(
                method="prompts/get", params=upstream, context=inputs.context
            )
            return await self._route(incoming, entry, operation, inputs, call, trace)

        return await self._observed(incoming, "prompts/get", body)

    async def _complete(
        self, ctx: ServerRequestContext[Any], params: types.CompleteRequestParams
    ) -> dict[str, Any]:
        incoming = self._incoming(ctx)

        async def body(call: CallContext, trace: RequestTrace) -> dict[str, Any]:
            ref = params.ref
            if isinstance(ref, types.PromptReference):
                entry, key = (await self.catalogue.prompts()).get(ref.name), "name"
            else:
                templates = await self.catalogue.resource_templates()
                entry = templates.get(ref.uri) or (await self.catalogue.resources()).get(ref.uri)
                key = "uri"
            if entry is None:
                raise MCPError(types.INVALID_PARAMS, f"Unknown {ref.type} reference")
            upstream_ref = {"type": ref.type, key: entry.upstream}
            raw = {k: v for k, v in incoming.params.items() if k != "_meta"}
            inputs = call_inputs(incoming.caller.inputs, incoming.params)
            operation = Operation.parse(
                method="completion/complete",
                params={**raw, "ref": upstream_ref},
                context=inputs.context,
            )
            return await self._route(incoming, entry, operation, inputs, call, trace)

        return await self._observed(incoming, "completion/complete", body)

    async def _route(
        self,
        incoming: Incoming,
        entry: Entry,
        operation: Operation,
        inputs: RoutingInputs,
        call: CallContext,
        trace: RequestTrace,
    ) -> dict[str, Any]:
        """Routes one call to the entry's targets and stamps the decision on the result."""
        target = entry.pinned or inputs.target
        if target:
            await self._count_against(call, target)
        if len(entry.owners) == 1 and not target:
            target = entry.owners[0]
        if entry.pinned and inputs.target and inputs.target != entry.pinned:
            raise invalid_argument(
                "target", f"{entry.listed} belongs to {entry.pinned}, not {inputs.target}"
            )
        route = RouteCall(
            operation=operation,
            target=target,
            # A target the host named is honoured strictly, as on the other doors;
            # one the catalogue chose is only where the item lives.
            allow_failover=not inputs.target and len(entry.owners) > 1,
        )
        forward = incoming.progress
        with progress_sink(forward.send if forward is not None else None):
            result = await self.service.route(route, call, trace)
        if forward is not None:
            await forward.flush()
        data = result.data if isinstance(result.data, dict) else {"value": result.data}
        meta = data.get("_meta")
        # The target's identity stamp is not ours: the host talks to the coordinator.
        own = (
            {k: v for k, v in meta.items() if k != SERVER_INFO_META_KEY}
            if isinstance(meta, dict)
            else {}
        )
        return {**data, "_meta": {**own, ROUTING_META: routing_meta(result)}}

    async def _aggregate(
        self,
        incoming: Incoming,
        arguments: Mapping[str, Any],
        call: CallContext,
        trace: RequestTrace,
    ) -> dict[str, Any]:
        query = arguments.get("query")
        context = arguments.get("context")
        if not isinstance(query, str):
            raise invalid_argument("arguments.query", "a string is required")
        if context is not None and not isinstance(context, Mapping):
            raise invalid_argument("arguments.context", "must be an object")
        inputs = call_inputs(incoming.caller.inputs, incoming.params)
        merged = {**(inputs.context or {}), **(context or {})} or None
        await self._count_against(call, *self.service.aggregate_targets((), call))
        try:
            result = await self.service.aggregate(
                AggregateCall(Operation.parse(query=query, context=merged)), call, trace
            )
        except CoordinatorError as error:
            if error.code is not ErrorCode.FAILED_PRECONDITION:
                raise
            return _tool_error(error.message)
        structured = {
            "query": result.query,
            "results": dict(result.results),
            "errors": {
                name: {"code": failure.code.name, "message": failure.message}
                for name, failure in result.errors.items()
            },
            "aggregation": {
                "targets": list(result.targets),
                "mode": "parallel",
                "succeeded": len(result.results),
                "failed": len(result.errors),
                "elapsed_ms": result.elapsed_ms,
            },
        }
        return {
            "content": [{"type": "text", "text": json.dumps(structured, ensure_ascii=False)}],
            "structuredContent": structured,
            "isError": not result.results and bool(result.errors),
        }

    # ------------------------------------------------------------------ plumbing

    async def _count_against(self, call: CallContext, *targets: str) -> None:
        """Counts the call against the key's limits on `targets`, as the other doors count
        a request that names its targets; raises a `Refusal` over a limit."""
        principal = call.principal
        if self.limiter is not None and principal is not None and principal.target_rates:
            await self.limiter.check(principal, *targets, key_limit=False)

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Refuses `params` over the input limits (nesting depth, string and key lengths)
        with a JSON-RPC invalid-params error naming the limit. Without recursion, and
        before anything else looks inside: a deep document must not reach the code
        that walks it recursively (the cache key, the upstream encoder)."""
        try:
            check_json(params, self.limits)
        except CoordinatorError as error:
            raise protocol_error(error, None) from None

    def _incoming(self, ctx: ServerRequestContext[Any], *, check: bool = True) -> Incoming:
        params = ctx.params or {}
        if check:
            self.check_params(params)
        scope = getattr(ctx.request, "scope", None)
        caller = scope.get(SCOPE_KEY) if isinstance(scope, Mapping) else None
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            self._remember(ctx, scope)
        meta = params.get("_meta")
        wants_progress = isinstance(meta, Mapping) and meta.get("progressToken") is not None
        return Incoming(
            params=params,
            protocol_version=ctx.protocol_version,
            caller=caller if isinstance(caller, Caller) else self.default_caller,
            progress=_ProgressForward(ctx.session) if wants_progress else None,
            request_id=ctx.request_id,
        )

    async def _observed(
        self,
        incoming: Incoming,
        method: str,
        body: Callable[[CallContext, RequestTrace], Awaitable[_T]],
        *,
        traced: bool = True,
    ) -> _T:
        """Runs one call and reports it to the observer, like `coordinator.rpc` does;
        the core's errors become JSON-RPC errors."""
        started = time.perf_counter()
        caller = incoming.caller
        call = CallContext(
            door="mcp",
            method=method,
            metadata=caller.metadata,
            deadline=caller.deadline,
            request_id=caller.request_id or new_request_id(),
            principal=caller.principal,
        )
        trace = RequestTrace()
        code, message = "UNKNOWN", "internal error"
        refused: Refusal | None = None
        params = incoming.params
        tool = params.get("name") if method == "tools/call" else None
        meta = params.get("_meta")
        span = tracing.mcp_server_span(
            method,
            meta if isinstance(meta, Mapping) else None,
            tool=tool if isinstance(tool, str) else None,
            request_id=incoming.request_id,
            protocol_version=incoming.protocol_version,
            transport=caller.transport,
        )
        with span:
            try:
                result = await body(call, trace)
                code, message = "OK", ""
                if isinstance(result, dict) and result.get("isError") is True:
                    span.tool_error()
                if (
                    incoming.protocol_version in MODERN_PROTOCOL_VERSIONS
                    and isinstance(result, dict)
                    and "resultType" not in result
                ):
                    # A handshake-era target's answer, passed to a 2026-07-28 host.
                    result["resultType"] = "complete"
                return result
            except Refusal as refusal:
                refused = refusal
                span.failed(refusal)
                raise protocol_error(refusal, None) from None
            except CoordinatorError as error:
                code, message = error.code.name, error.message
                span.failed(error)
                raise protocol_error(error, trace if traced else None) from None
            except MCPError as error:
                code, message = ErrorCode.INVALID_ARGUMENT.name, str(error)
                raise
            except asyncio.CancelledError:
                code, message = "CANCELLED", "cancelled by the caller"
                raise
            finally:
                if self.observer is not None:
                    self.observer.settled(
                        call,
                        method,
                        trace if traced else None,
                        code,
                        started,
                        error=message,
                        refusal=refused,
                    )

    async def _span_unobserved(
        self, ctx: ServerRequestContext[Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.method in _OBSERVED_METHODS:
            return await call_next(ctx)
        scope = getattr(ctx.request, "scope", None)
        caller = scope.get(SCOPE_KEY) if isinstance(scope, Mapping) else None
        meta = ctx.params.get("_meta") if ctx.params else None
        with tracing.mcp_server_span(
            ctx.method,
            meta if isinstance(meta, Mapping) else None,
            request_id=ctx.request_id,
            protocol_version=ctx.protocol_version,
            transport=(caller if isinstance(caller, Caller) else self.default_caller).transport,
        ) as span:
            try:
                return await call_next(ctx)
            except MCPError as error:  # the host's request was refused
                span.refused(str(error.error.code))
                raise

    # ------------------------------------------------------------------ list changes

    def _remember(self, ctx: ServerRequestContext[Any], scope: Any) -> None:
        headers = dict(scope.get("headers") or ()) if isinstance(scope, Mapping) else {}
        key = headers.get(b"mcp-session-id", b"stdio").decode("latin-1")
        self._legacy[key] = ctx.session
        self._legacy.move_to_end(key)
        while len(self._legacy) > MAX_LEGACY_SESSIONS:
            self._legacy.popitem(last=False)

    def seen_in_session(self, session_id: str) -> None:
        """A request the fast path answered on a handshake-era session keeps that
        session among the most recent, as a request through the SDK does."""
        if session_id in self._legacy:
            self._legacy.move_to_end(session_id)

    def _catalogue_changed(self, kind: Kind) -> None:
        task = asyncio.get_running_loop().create_task(self._announce(kind))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _announce(self, kind: Kind) -> None:
        event: ServerEvent
        if kind == "tools":
            event = ToolsListChanged()
        elif kind == "resources":
            event = ResourcesListChanged()
        else:
            event = PromptsListChanged()
        await self.bus.publish(event)
        for key, session in list(self._legacy.items()):
            try:
                if kind == "tools":
                    await session.send_tool_list_changed()
                elif kind == "resources":
                    await session.send_resource_list_changed()
                else:
                    await session.send_prompt_list_changed()
            except Exception as exc:  # the connection is gone: forget it
                log.debug("list change not delivered to session %s: %r", key, exc)
                self._legacy.pop(key, None)


class _ProgressForward:
    """Passes a target's progress on to the host, when the host asked for progress."""

    def __init__(self, session: ServerSession) -> None:
        self._session = session
        self._sent: list[asyncio.Task[None]] = []

    def send(self, params: Mapping[str, Any]) -> None:
        progress = params.get("progress")
        if not isinstance(progress, int | float):
            return
        total = params.get("total")
        message = params.get("message")
        self._sent.append(
            asyncio.get_running_loop().create_task(
                self._session.report_progress(
                    float(progress),
                    float(total) if isinstance(total, int | float) else None,
                    message if isinstance(message, str) else None,
                )
            )
        )

    async def flush(self) -> None:
        """Progress goes out before the result it belongs to."""
        if self._sent:
            await asyncio.gather(*self._sent, return_exceptions=True)


def protocol_error(error: CoordinatorError, trace: RequestTrace | None) -> MCPError:
    """The JSON-RPC error for a core error; `data` names the status and, for a
    routed call, the decision so far."""
    code = _JSONRPC_CODES.get(error.code, types.INTERNAL_ERROR)
    data: dict[str, Any] = {"status": error.code.name}
    if error.retry_after is not None:
        data["retry_after_seconds"] = error.retry_after
    if trace is not None and trace.attempts:
        data[ROUTING_META] = routing_meta(trace)
    return MCPError(code, error.message, data)


def _tool_error(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}
