"""The gRPC door keeps `MAX_CONNECTIONS` as the HTTP door does: one connection more is closed
at once, before any key is read, and a connection that leaves frees its place."""

from __future__ import annotations

import asyncio
import socket

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.conftest import running, settings_for
from tests.support.mcp_servers import SampleServer

# The HTTP/2 client preface and an empty SETTINGS frame: what a gRPC client sends first.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def open_http2(port: int) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.sendall(PREFACE)
    return connection


def served(connection: socket.socket) -> bool:
    """True when the server answered with its SETTINGS frame, False when it hung up."""
    return len(connection.recv(64)) > 0


async def test_one_connection_past_the_cap_is_closed_at_once(shared_prod: SampleServer) -> None:
    settings = settings_for(shared_prod.target_config(), max_connections=2)
    async for item in running(settings):
        port = item.coordinator.grpc_port
        # The test's own channel opens no connection until its first call.
        held = [await asyncio.to_thread(open_http2, port) for _ in range(3)]
        try:
            verdicts = [await asyncio.to_thread(served, c) for c in held]
        finally:
            for connection in held:
                connection.close()
        assert verdicts == [True, True, False]
        await asyncio.sleep(0.2)  # the server notices the closed connections
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
