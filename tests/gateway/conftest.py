from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from coordinator.gateway import build_gateway
from coordinator.limits import InputLimits

from .service import SERVICE, RecordingService


@pytest.fixture
def service() -> RecordingService:
    return RecordingService()


@pytest.fixture
def app(service: RecordingService) -> Starlette:
    return build_gateway(
        services=[(SERVICE, service.handlers())], limits=InputLimits(max_request_bytes=4096)
    )


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


@pytest.fixture
async def large_client(service: RecordingService) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a gateway with the default 1 MiB body limit."""
    app = build_gateway(services=[(SERVICE, service.handlers())])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client
