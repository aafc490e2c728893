"""Fixtures for the cache tests: a hand-moved clock and real redis-server processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from tests.support.mcp_servers import free_port

from .support import SHARED_REDIS_URL, ManualClock, RedisServer


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def shared_redis_namespace() -> AsyncIterator[str]:
    """A key namespace of this test's own in the shared Redis, emptied afterwards."""
    namespace = f"test{uuid.uuid4().hex[:12]}"
    yield namespace
    client = Redis.from_url(SHARED_REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"mcpc:v1:{namespace}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
