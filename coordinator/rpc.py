"""CoordinatorService at the message level: what every door calls.

`coordinator_handlers(service, keyring, observer, limiter=..., limits=..., usage=...)`
returns one `UnaryHandler` per RPC. Each, in this order and before any work:
checks the request against the input limits (`coordinator.limits`), finds the
caller's key and checks its scope and target (`coordinator.auth`, except
Health), and counts the call against its rate limits
(`coordinator.ratelimit`); then converts the request message, calls the
service, converts the answer, and reports the finished call to the observer
(usage event, metrics, decision log). A refused key or a rate-limited call
is counted and logged (throttled) as a refusal and writes no usage row.
Because the gRPC and REST doors both call these same handlers, auth, limits,
errors and accounting cannot differ between doors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from google.protobuf.message import Message
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator import convert, tracing
from coordinator.auth import KeyRing
from coordinator.calls import CallContext, ServiceHandlers, UnaryHandler
from coordinator.errors import CoordinatorError, ErrorCode, Refusal
from coordinator.limits import DEFAULT_LIMITS, InputLimits, check_message
from coordinator.observe import RequestObserver
from coordinator.ratelimit import RateLimiter
from coordinator.service import CoordinatorService, RequestTrace
from coordinator.usage.report import UsageReader
from coordinator.usage.window import WindowReader

SERVICE_DESCRIPTOR = pb.DESCRIPTOR.services_by_name["CoordinatorService"]

Body = Callable[[Message, CallContext, RequestTrace], Awaitable[Message]]
# The target a request names, for the key's target allowance and per-target limits.
TargetOf = Callable[[Message], str | None]
# The scope a method needs; a tuple: any one of them.
Scope = str | tuple[str, ...]


def _no_target(request: Message) -> str | None:
    return None


def _route_target(request: Message) -> str | None:
    assert isinstance(request, pb.RouteRequest)
    return request.target or None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def coordinator_handlers(
    service: CoordinatorService,
    keyring: KeyRing | None = None,
    observer: RequestObserver | None = None,
    *,
    limiter: RateLimiter | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
    usage: UsageReader | None = None,
    clock: Callable[[], datetime] = _utc_now,
) -> ServiceHandlers:
    """`keyring` None: no key configured (every caller is anonymous). `usage` answers the
    Usage RPC; without it, the observer's in-process window does."""
    keys = keyring if keyring is not None else KeyRing(())
    if usage is None and observer is not None:
        usage = WindowReader(observer.recorder.window)

    async def admit(request: Message, ctx: CallContext, scope: Scope, target: str | None) -> None:
        principal = keys.authenticate(ctx.metadata)
        ctx.principal = principal
        scope = principal.any_scope_of(scope) if isinstance(scope, tuple) else scope
        principal.require(scope, target)
        targets: tuple[str, ...] = (target,) if target else ()
        if isinstance(request, pb.AggregateRequest):
            for name in request.targets:
                principal.require(scope, name)
            if principal.target_rates:
                targets = tuple(request.targets) or service.aggregate_targets((), ctx)
        if limiter is not None:
            await limiter.check(principal, *targets)

    def handler(
        method: str,
        body: Body,
        *,
        scope: Scope | None,
        traced: bool,
        target_of: TargetOf = _no_target,
    ) -> UnaryHandler:
        async def handle(request: Message, ctx: CallContext) -> Message:
            started = time.perf_counter()
            trace = RequestTrace()
            code, message = "UNKNOWN", "internal error"
            refused: Refusal | None = None
            admitted = False
            try:
                if ctx.door == "grpc":  # REST checked the JSON before decoding it
                    check_message(request, limits)
                if scope is not None:
                    await admit(request, ctx, scope, target_of(request))
                admitted = True
                response = await body(request, ctx, trace)
                code, message = "OK", ""
                return response
            except Refusal as error:
                refused = error
                raise
            except CoordinatorError as error:
                code, message = error.code.name, error.message
                raise
            except asyncio.CancelledError:
                code, message = "CANCELLED", "cancelled by the caller"
                raise
            finally:
                if observer is not None:
                    observer.settled(
                        ctx,
                        method,
                        trace if traced and admitted else None,
                        code,
                        started,
                        error=message,
                        refusal=refused,
                    )

        return handle

    async def route(request: Message, ctx: CallContext, trace: RequestTrace) -> Message:
        assert isinstance(request, pb.RouteRequest)
        result = await service.route(convert.route_call(request), ctx, trace)
        response = convert.route_response(result)
        response.routing.trace_id = tracing.current_trace_id()
        return response

    async def aggregate(request: Message, ctx: CallContext, trace: RequestTrace) -> Message:
        assert isinstance(request, pb.AggregateRequest)
        result = await service.aggregate(convert.aggregate_call(request), ctx, trace)
        response = convert.aggregate_response(result)
        response.aggregation.trace_id = tracing.current_trace_id()
        return response

    async def health(request: Message, ctx: CallContext, trace: RequestTrace) -> Message:
        return convert.health_response(service.health())

    async def status(request: Message, ctx: CallContext, trace: RequestTrace) -> Message:
        response = convert.status_response(service.status())
        if observer is not None:
            convert.add_observations(
                response,
                observer.recorder.stats(),
                observer.metrics.requests_by_door_and_method(),
            )
        if limiter is not None:
            state = limiter.state()
            response.rate_limits.backend = state.backend
            response.rate_limits.redis_state = state.redis_state
            response.rate_limits.replicas = state.replicas
            response.rate_limits.refused = state.refused
        return response

    async def usage_report(request: Message, ctx: CallContext, trace: RequestTrace) -> Message:
        assert isinstance(request, pb.UsageRequest)
        query = convert.usage_query(request, clock())
        if usage is None:
            raise CoordinatorError(ErrorCode.FAILED_PRECONDITION, "usage is not recorded here")
        return convert.usage_response(await usage.report(query))

    return {
        "Route": handler("Route", route, scope="route", traced=True, target_of=_route_target),
        "Aggregate": handler("Aggregate", aggregate, scope="aggregate", traced=True),
        "Health": handler("Health", health, scope=None, traced=False),
        "Status": handler("Status", status, scope=("status", "dashboard"), traced=False),
        "Usage": handler("Usage", usage_report, scope=("status", "dashboard"), traced=False),
    }
