"""Slow and greedy clients on the HTTP door, over raw sockets: an unfinished head or body
is answered 408 and closed after its timeout; connections past the cap are closed at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.integration.conftest import Running
from tests.support.mcp_servers import SampleServer

from .conftest import keyed_coordinator

# Far above the timeouts under test: only a connection left open would reach it.
PATIENCE = 20.0


@pytest.fixture
async def guarded(shared_prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    async for item in keyed_coordinator(
        shared_prod, shared_lab, header_timeout=0.3, body_timeout=0.3
    ):
        yield item


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(PATIENCE):
        try:
            return await reader.read()
        except ConnectionResetError:
            return b""


async def open_connection(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


@pytest.mark.slow
async def test_an_unfinished_request_head_is_answered_408_and_closed(guarded: Running) -> None:
    reader, writer = await open_connection(guarded.coordinator.http_port)
    writer.write(b"POST /route HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
    answer = await read_until_closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"request not received in time" in answer


@pytest.mark.slow
async def test_a_silent_connection_is_closed(guarded: Running) -> None:
    reader, writer = await open_connection(guarded.coordinator.http_port)
    answer = await read_until_closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


@pytest.mark.slow
async def test_a_body_that_never_comes_is_answered_408_and_closed(guarded: Running) -> None:
    reader, writer = await open_connection(guarded.coordinator.http_port)
    writer.write(
        b"POST /route HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"query":'
    )
    answer = await read_until_closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


@pytest.mark.slow
async def test_a_kept_alive_connection_gets_the_head_deadline_again(guarded: Running) -> None:
    reader, writer = await open_connection(guarded.coordinator.http_port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(PATIENCE):
        first = await reader.readuntil(b"}")
    assert first.startswith(b"HTTP/1.1 200 ")
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    answer = await read_until_closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


@pytest.fixture
async def capped(shared_prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    # Deadlines far away: only the cap may close a connection in this test.
    async for item in keyed_coordinator(
        shared_prod, shared_lab, header_timeout=PATIENCE * 3, max_connections=8
    ):
        yield item


async def test_connections_past_the_cap_are_closed_at_once(capped: Running) -> None:
    port = capped.coordinator.http_port
    held = [await open_connection(port) for _ in range(8)]
    try:
        # Let the server accept them all before the one too many.
        await asyncio.sleep(0)
        reader, writer = await open_connection(port)
        assert await read_until_closed(reader) == b""
        writer.close()
        # The connections within the cap still work.
        first_reader, first_writer = held[0]
        first_writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(PATIENCE):
            assert (await first_reader.readuntil(b"}")).startswith(b"HTTP/1.1 200 ")
    finally:
        for _, held_writer in held:
            held_writer.close()


@pytest.mark.slow
async def test_the_grpc_door_closes_a_connection_that_never_finishes_its_handshake(
    guarded: Running,
) -> None:
    reader, writer = await open_connection(guarded.coordinator.grpc_port)
    writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")  # the preface, then nothing
    answer = await read_until_closed(reader)  # a GOAWAY frame, then the close
    writer.close()
    assert answer.endswith(b"handshake timeout")
