"""Fixtures on the real PostgreSQL at DATABASE_URL: a migrated schema per test, dropped after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from coordinator.usage import UsageAttempt, UsageEvent
from tests.support.usage_schema import SERVER_DSN, migrated_schema

DSN = SERVER_DSN


def dsn_via(port: int) -> str:
    """DATABASE_URL with its host and port replaced by 127.0.0.1:`port` (a TcpProxy)."""
    parts = urlsplit(DSN)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def upstream() -> tuple[str, int]:
    parts = urlsplit(DSN)
    return parts.hostname or "127.0.0.1", parts.port or 5432


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    """A schema of its own with the migrations applied; dropped afterwards."""
    async with migrated_schema() as name:
        yield name


@pytest.fixture
async def db(schema: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    """A connection whose search path is the test's schema, to read what the sinks wrote."""
    connection: asyncpg.Connection[Any] = await asyncpg.connect(
        DSN, server_settings={"search_path": schema}
    )
    try:
        yield connection
    finally:
        await connection.close()


def make_event(n: int, **changes: Any) -> UsageEvent:
    fields: dict[str, Any] = {
        "request_id": f"req-{n:06d}",
        "door": "http",
        "method": "Route",
        "operation": "query",
        "tool_or_method": "ask",
        "target": "odoo_lab",
        "rule": "context:migration",
        "reason": "Migration work uses the testing environment",
        "confidence": 0.9,
        "outcome": "ok",
        "status_code": "OK",
        "latency_ms": 12.5,
        "cached": False,
        "failover": True,
        "attempts": (
            UsageAttempt("odoo_prod", "unavailable", 3.25),
            UsageAttempt("odoo_lab", "ok", 9.0),
        ),
        "api_key_id": "0123456789abcdef",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    }
    fields.update(changes)
    return UsageEvent(**fields)


async def stored_ids(db: asyncpg.Connection[Any]) -> list[str]:
    return [r["request_id"] for r in await db.fetch("SELECT request_id FROM usage_events")]
