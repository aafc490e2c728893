"""The gRPC door: a grpc.aio server over any (service descriptor, handlers) pair,
plus the standard grpc.health.v1 service and server reflection.

Like the REST gateway it is generic: handlers are looked up by method name, so
no hand-written servicer exists and both doors share every behaviour.

Requests arrive as bytes and are decoded here, so a message that does not
decode is INVALID_ARGUMENT with no parser text, as the REST door answers an
undecodable body. A message over `limits.max_request_bytes` is
RESOURCE_EXHAUSTED naming MAX_REQUEST_BYTES (grpc itself drops anything
more than 64 KiB over it before reading it all). With `tls` the door serves TLS only, and with a
client CA it requires client certificates signed by it (mutual TLS).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from coordinator import tracing
from coordinator.calls import CallContext, ServiceHandlers, UnaryHandler, request_id_from
from coordinator.errors import CoordinatorError, ErrorCode, to_status_proto
from coordinator.limits import DEFAULT_LIMITS, InputLimits

log = logging.getLogger(__name__)

GRPC_OPTIONS = (
    ("grpc.so_reuseport", 0),
    # grpc core has no per-stream read deadline: these bound how long a silent client
    # (an idle connection, or a stream whose message never comes) can hold a connection.
    ("grpc.max_connection_idle_ms", 5 * 60 * 1000),
    ("grpc.max_connection_age_ms", 30 * 60 * 1000),
    ("grpc.max_connection_age_grace_ms", 30 * 1000),
)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert_file: str
    key_file: str
    # Set: clients must present a certificate signed by this CA.
    client_ca_file: str | None = None

    def server_credentials(self) -> grpc.ServerCredentials:
        ca = Path(self.client_ca_file).read_bytes() if self.client_ca_file else None
        return grpc.ssl_server_credentials(
            [(Path(self.key_file).read_bytes(), Path(self.cert_file).read_bytes())],
            root_certificates=ca,
            require_client_auth=ca is not None,
        )


def _metadata(context: grpc.aio.ServicerContext[Any, Any]) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for key, value in context.invocation_metadata() or ():
        if not isinstance(value, str):
            continue
        if key == "x-api-key" and key in metadata:
            raise CoordinatorError(
                ErrorCode.INVALID_ARGUMENT, "metadata x-api-key: given more than once"
            )
        metadata[key] = value
    return metadata


def _rpc_method_handler(
    method: MethodDescriptor, handler: UnaryHandler, limits: InputLimits
) -> grpc.RpcMethodHandler[Message, Message]:
    request_class = GetMessageClass(method.input_type)
    response_class = GetMessageClass(method.output_type)
    full_name = f"/{method.containing_service.full_name}/{method.name}"

    async def serve(raw: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        # The span opens before anything may refuse the call: refusals have theirs too.
        with tracing.grpc_server_span(full_name, context.invocation_metadata()) as span:
            try:
                if len(raw) > limits.max_request_bytes:
                    raise CoordinatorError(
                        ErrorCode.RESOURCE_EXHAUSTED,
                        f"request message larger than MAX_REQUEST_BYTES={limits.max_request_bytes}"
                        " bytes",
                    )
                metadata = _metadata(context)
                request = request_class.FromString(raw)
            except CoordinatorError as error:
                span.failed(error)
                await _abort(context, error)
            except (DecodeError, RecursionError, ValueError) as error:
                problem = (
                    f"request nests deeper than MAX_JSON_DEPTH={limits.max_json_depth} JSON levels"
                    if "MaxDepth" in str(error)
                    else f"request is not a valid {method.input_type.full_name} message"
                )
                refused = CoordinatorError(ErrorCode.INVALID_ARGUMENT, problem)
                span.failed(refused)
                await _abort(context, refused)
            remaining = context.time_remaining()
            ctx = CallContext(
                door="grpc",
                method=full_name,
                metadata=metadata,
                deadline=None if remaining is None else time.monotonic() + remaining,
                request_id=request_id_from(metadata.get("x-request-id")),
            )
            try:
                return await handler(request, ctx)
            except CoordinatorError as error:
                span.failed(error)
                await _abort(context, error)
            except Exception as error:
                log.exception("unexpected error in %s (request id %s)", full_name, ctx.request_id)
                span.failed(error)
                await _abort(
                    context,
                    CoordinatorError(
                        ErrorCode.INTERNAL, f"internal error; request id {ctx.request_id}"
                    ),
                )

    return grpc.unary_unary_rpc_method_handler(
        serve,
        request_deserializer=None,  # bytes: decoded in `serve`, where errors are ours
        response_serializer=response_class.SerializeToString,
    )


def generic_handler(
    service: ServiceDescriptor, handlers: ServiceHandlers, limits: InputLimits = DEFAULT_LIMITS
) -> grpc.GenericRpcHandler:
    missing = [m.name for m in service.methods if m.name not in handlers]
    if missing:
        raise ValueError(f"{service.full_name}: no handler for {missing}")
    return grpc.method_handlers_generic_handler(
        service.full_name,
        {m.name: _rpc_method_handler(m, handlers[m.name], limits) for m in service.methods},
    )


class GrpcDoor:
    """A started grpc.aio server; `async with GrpcDoor(...)` binds, serves and stops."""

    def __init__(
        self,
        services: Sequence[tuple[ServiceDescriptor, ServiceHandlers]],
        *,
        host: str,
        port: int,
        limits: InputLimits = DEFAULT_LIMITS,
        handshake_timeout: float = 10.0,
        max_connections: int = 1024,
        tls: TlsFiles | None = None,
    ) -> None:
        self._services = services
        self._limits = limits
        self._address = f"{host}:{port}"
        self._tls = tls
        self.server = grpc.aio.server(
            options=(
                *GRPC_OPTIONS,
                ("grpc.max_receive_message_length", limits.max_request_bytes + (64 << 10)),
                ("grpc.server_handshake_timeout_ms", int(handshake_timeout * 1000)),
                # Past the cap grpc closes a new connection at once (as the HTTP door does).
                ("grpc.max_allowed_incoming_connections", max_connections),
            )
        )
        self.health = health.aio.HealthServicer()
        self.port = 0

    async def __aenter__(self) -> GrpcDoor:
        for descriptor, handlers in self._services:
            self.server.add_generic_rpc_handlers(
                (generic_handler(descriptor, handlers, self._limits),)
            )
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
        if self._tls is None:
            self.port = self.server.add_insecure_port(self._address)
        else:
            self.port = self.server.add_secure_port(self._address, self._tls.server_credentials())
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


async def _abort(context: grpc.aio.ServicerContext[Any, Any], error: CoordinatorError) -> NoReturn:
    """Ends the call with the error's status and its `google.rpc` details."""
    await context.abort_with_status(rpc_status.to_status(to_status_proto(error)))
    raise AssertionError("unreachable: abort_with_status raises")
