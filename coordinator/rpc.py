"""CoordinatorService at the message level: what every door calls.

`coordinator_handlers(service, api_key)` returns one `UnaryHandler` per RPC. Each
checks the API key (except Health), converts the request message, calls the
service and converts the answer. Because the gRPC, REST and MCP doors all call
these same handlers, auth and errors cannot differ between doors.
"""

from __future__ import annotations

import hmac
import logging

from google.protobuf.message import Message
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator import convert
from coordinator.calls import CallContext, ServiceHandlers, UnaryHandler
from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.service import CoordinatorService

log = logging.getLogger(__name__)

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


def coordinator_handlers(service: CoordinatorService, api_key: str | None) -> ServiceHandlers:
    check_key = ApiKeyCheck(api_key)

    async def route(request: Message, ctx: CallContext) -> Message:
        assert isinstance(request, pb.RouteRequest)
        check_key(ctx)
        result = await service.route(convert.route_call(request), ctx)
        return convert.route_response(result)

    async def aggregate(request: Message, ctx: CallContext) -> Message:
        assert isinstance(request, pb.AggregateRequest)
        check_key(ctx)
        result = await service.aggregate(convert.aggregate_call(request), ctx)
        return convert.aggregate_response(result)

    async def health(request: Message, ctx: CallContext) -> Message:
        return convert.health_response(service.health())

    async def status(request: Message, ctx: CallContext) -> Message:
        check_key(ctx)
        return convert.status_response(service.status())

    handlers: dict[str, UnaryHandler] = {
        "Route": route,
        "Aggregate": aggregate,
        "Health": health,
        "Status": status,
    }
    return handlers
