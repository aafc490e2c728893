"""The gateway behind a real uvicorn server, over real sockets."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from starlette.applications import Starlette

from .live import serve_in_thread
from .service import RecordingService


@pytest.fixture
def base_url(app: Starlette) -> object:
    with serve_in_thread(app) as url:
        yield url


async def test_round_trip_over_http(base_url: str, service: RecordingService) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        created = await client.post(
            "/v1/shelves/3/books?book_id=b1",
            json={"title": "Solaris", "genre": "GENRE_FICTION"},
            headers={"X-API-Key": "k", "X-Request-Id": "live-1"},
        )
        names = await client.get("/v1/shelfnames")
        missing = await client.get("/v1/nothing")

    assert created.status_code == 200
    assert created.headers["x-request-id"] == "live-1"
    assert created.json()["name"] == "shelves/3/books/b1"
    assert created.json()["genre"] == "GENRE_FICTION"
    assert service.calls[0].context.metadata == {"x-api-key": "k"}
    assert names.json() == ["shelves/1", "shelves/2"]
    assert missing.status_code == 404
    assert missing.json()["code"] == 5


async def test_oversized_body_is_refused_before_it_is_sent_whole(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    declared = 10 * 1024 * 1024

    def exchange() -> bytes:
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(
                b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {declared}\r\n\r\n".encode()
                + b"{"
            )
            return sock.recv(65536)

    reply = await asyncio.to_thread(exchange)

    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b'"code":8' in reply
