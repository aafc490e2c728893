"""CoordinatorService at the message level: what every door calls.

`coordinator_handlers(service, api_key, observer)` returns one `UnaryHandler`
per RPC. Each checks the API key (except Health), converts the request message,
calls the service, converts the answer, and reports the finished call to the
observer (usage event, metrics, decision log). Because the gRPC and REST doors
both call these same handlers, auth, errors and accounting cannot differ
between doors.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from google.protobuf.message import Message
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator import convert, tracing
from coordinator.calls import CallContext, ServiceHandlers, UnaryHandler
from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.observe import RequestObserver
from coordinator.service import CoordinatorService, RequestTrace
from coordinator.usage.report import UsageReader
from coordinator.usage.window import WindowReader

SERVICE_DESCRIPTOR = pb.DESCRIPTOR.services_by_name["CoordinatorService"]
API_KEY_METADATA = "x-api-key"


class ApiKeyCheck:
    """Constant-time comparison of the `x-api-key` metadata with the configured key.

    With no key configured (allowed outside production) every call passes.
    """

    def __init__(self, api_key: str | None) -> None:
        self._expected = api_key.encode() if api_key else None

    def __call__(self, ctx: CallContext) -> None:
        if self._expected is None:
            return
        given = ctx.metadata.get(API_KEY_METADATA)
        if not given:
            raise CoordinatorError(
                ErrorCode.UNAUTHENTICATED, "missing API key: send it as the X-API-Key header"
            )
        if not hmac.compare_digest(given.encode(), self._expected):
            raise CoordinatorError(ErrorCode.UNAUTHENTICATED, "invalid API key")


Body = Callable[[Message, CallContext, RequestTrace], Awaitable[Message]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def coordinator_handlers(
    service: CoordinatorService,
    api_key: str | None,
    observer: RequestObserver | None = None,
    *,
    usage: UsageReader | None = None,
    clock: Callable[[], datetime] = _utc_now,
) -> ServiceHandlers:
    """`usage` answers the Usage RPC; without it, the observer's in-process window does."""
    check_key = ApiKeyCheck(api_key)
    if usage is None and observer is not None:
        usage = WindowReader(observer.recorder.window)

    def handler(method: str, body: Body, *, needs_key: bool, traced: bool) -> UnaryHandler:
        async def handle(request: Message, ctx: CallContext) -> Message:
            started = time.perf_counter()
            trace = RequestTrace()
            code, message = "UNKNOWN", "internal error"
            try:
                if needs_key:
                    check_key(ctx)
                response = await body(request, ctx, trace)
                code, message = "OK", ""
                return response
            except CoordinatorError as error:
                code, message = error.code.name, error.message
                raise
            except asyncio.CancelledError:
                code, message = "CANCELLED", "cancelled by the caller"
                raise
            finally:
                if observer is not None:
                    observer.finished(
                        ctx, method, trace if traced else None, code, started, error=message
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
        return convert.aggregate_response(result)

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
        return response

    async def usage_report(request: Message, ctx: CallContext, trace: RequestTrace) -> Message:
        assert isinstance(request, pb.UsageRequest)
        query = convert.usage_query(request, clock())
        if usage is None:
            raise CoordinatorError(ErrorCode.FAILED_PRECONDITION, "usage is not recorded here")
        return convert.usage_response(await usage.report(query))

    return {
        "Route": handler("Route", route, needs_key=True, traced=True),
        "Aggregate": handler("Aggregate", aggregate, needs_key=True, traced=True),
        "Health": handler("Health", health, needs_key=False, traced=False),
        "Status": handler("Status", status, needs_key=True, traced=False),
        # Scope "status" or "dashboard" once keys carry scopes.
        "Usage": handler("Usage", usage_report, needs_key=True, traced=False),
    }
