"""The gRPC door: a grpc.aio server over any (service descriptor, handlers) pair,
plus the standard grpc.health.v1 service and server reflection.

Like the REST gateway it is generic: handlers are looked up by method name, so
no hand-written servicer exists and both doors share every behaviour.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from coordinator import tracing
from coordinator.calls import CallContext, ServiceHandlers, UnaryHandler, request_id_from
from coordinator.errors import CoordinatorError, ErrorCode, to_status_proto

log = logging.getLogger(__name__)

GRPC_OPTIONS = (
    ("grpc.max_receive_message_length", 4 << 20),
    ("grpc.so_reuseport", 0),
)


def _rpc_method_handler(
    method: MethodDescriptor, handler: UnaryHandler
) -> grpc.RpcMethodHandler[Message, Message]:
    request_class = GetMessageClass(method.input_type)
    response_class = GetMessageClass(method.output_type)
    full_name = f"/{method.containing_service.full_name}/{method.name}"

    async def serve(request: Message, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        metadata = {
            key: value
            for key, value in context.invocation_metadata() or ()
            if isinstance(value, str)
        }
        remaining = context.time_remaining()
        ctx = CallContext(
            door="grpc",
            method=full_name,
            metadata=metadata,
            deadline=None if remaining is None else time.monotonic() + remaining,
            request_id=request_id_from(metadata.get("x-request-id")),
        )
        try:
            return await tracing.grpc_server_call(handler(request, ctx), full_name, metadata)
        except CoordinatorError as error:
            await context.abort_with_status(rpc_status.to_status(to_status_proto(error)))
        except Exception:
            log.exception("unexpected error in %s (request id %s)", full_name, ctx.request_id)
            internal = CoordinatorError(
                ErrorCode.INTERNAL, f"internal error; request id {ctx.request_id}"
            )
            await context.abort_with_status(rpc_status.to_status(to_status_proto(internal)))
        raise AssertionError("unreachable: abort_with_status raises")

    return grpc.unary_unary_rpc_method_handler(
        serve,
        request_deserializer=request_class.FromString,
        response_serializer=response_class.SerializeToString,
    )


def generic_handler(
    service: ServiceDescriptor, handlers: ServiceHandlers
) -> grpc.GenericRpcHandler:
    missing = [m.name for m in service.methods if m.name not in handlers]
    if missing:
        raise ValueError(f"{service.full_name}: no handler for {missing}")
    return grpc.method_handlers_generic_handler(
        service.full_name,
        {m.name: _rpc_method_handler(m, handlers[m.name]) for m in service.methods},
    )


class GrpcDoor:
    """A started grpc.aio server; `async with GrpcDoor(...)` binds, serves and stops."""

    def __init__(
        self,
        services: Sequence[tuple[ServiceDescriptor, ServiceHandlers]],
        *,
        host: str,
        port: int,
    ) -> None:
        self._services = services
        self._address = f"{host}:{port}"
        self.server = grpc.aio.server(options=GRPC_OPTIONS)
        self.health = health.aio.HealthServicer()
        self.port = 0

    async def __aenter__(self) -> GrpcDoor:
        for descriptor, handlers in self._services:
            self.server.add_generic_rpc_handlers((generic_handler(descriptor, handlers),))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [d.full_name for d, _ in self._services]
        reflection.enable_server_reflection(
            [
                *names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            self.server,
        )
        self.port = self.server.add_insecure_port(self._address)
        if self.port == 0:
            raise OSError(f"cannot bind the gRPC door to {self._address}")
        await self.server.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        for name in names:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self

    async def start_draining(self) -> None:
        """Health answers NOT_SERVING from now on; calls are still served."""
        await self.health.enter_graceful_shutdown()

    async def stop(self, grace: float) -> None:
        """Refuses new calls and waits up to `grace` seconds for in-flight ones."""
        await self.server.stop(grace)

    async def __aexit__(self, *exc_info: object) -> None:
        await self.server.stop(0)
