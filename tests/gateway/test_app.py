"""Composition: extra routes next to the gateway, middleware, lifespan."""

from __future__ import annotations

import httpx
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from coordinator.gateway import build_gateway

from .service import SERVICE, RecordingService


async def _metrics(request: Request) -> Response:
    return PlainTextResponse("requests_total 1\n")


async def test_extra_routes_are_served_next_to_the_gateway() -> None:
    app = build_gateway(
        services=[(SERVICE, RecordingService().handlers())],
        extra_routes=[Route("/metrics", _metrics, methods=["GET"])],
    )
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        metrics = await client.get("/metrics")
        names = await client.get("/v1/shelfnames")
        missing = await client.get("/v1/%0A")

    assert metrics.text == "requests_total 1\n"
    assert names.json() == ["shelves/1", "shelves/2"]
    assert missing.status_code == 404
    assert missing.json()["code"] == 5


class _StampMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["x-stamp"] = "yes"
        return response


async def test_added_middleware_wraps_gateway_responses() -> None:
    app = build_gateway(services=[(SERVICE, RecordingService().handlers())])
    app.add_middleware(_StampMiddleware)
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/v1/shelfnames")

    assert response.headers["x-stamp"] == "yes"
    assert response.json() == ["shelves/1", "shelves/2"]
