"""A real coordinator (gRPC and HTTP doors on free ports) in front of real sample
MCP servers running in their own processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from mcpcoordinator.v1 import coordinator_pb2_grpc as pb_grpc

from coordinator.app import Coordinator
from coordinator.config import Settings, TargetConfig
from tests.support.mcp_servers import SampleServer

API_KEY = "test-key-0123456789"
AUTH = (("x-api-key", API_KEY),)


@dataclass
class Running:
    coordinator: Coordinator
    channel: grpc.aio.Channel
    stub: pb_grpc.CoordinatorServiceAsyncStub

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.coordinator.http_port}"


def settings_for(*targets: TargetConfig, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "host": "127.0.0.1",
        "port": 0,
        "grpc_port": 0,
        "targets": targets,
        "default_target": targets[0].name if targets else None,
        "failover_order": tuple(t.name for t in targets),
        "drain_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


async def running(settings: Settings) -> AsyncIterator[Running]:
    async with (
        Coordinator(settings) as coordinator,
        grpc.aio.insecure_channel(f"127.0.0.1:{coordinator.grpc_port}") as channel,
    ):
        yield Running(coordinator, channel, pb_grpc.CoordinatorServiceStub(channel))


@pytest.fixture
async def coordinator(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> AsyncIterator[Running]:
    """A coordinator over the shared odoo_prod and odoo_lab samples."""
    settings = settings_for(shared_prod.target_config(), shared_lab.target_config())
    async for item in running(settings):
        yield item


@pytest.fixture
async def prod() -> AsyncIterator[SampleServer]:
    """An odoo_prod sample of this test's own, free to kill, freeze or restart."""
    server = await SampleServer("odoo_prod", "production").start()
    try:
        yield server
    finally:
        await server.stop()
