"""A call through /mcp is one usage row with door `mcp` and one decision log line."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from tests.integration.conftest import Running, running, settings_for
from tests.mcpdoor.support import call_meta, mcp_client
from tests.support.mcp_servers import SampleServer
from tests.support.usage_schema import dsn_in, migrated_schema
from tests.usage.conftest import DSN

pytestmark = pytest.mark.slow


@dataclass
class Recorded:
    coordinator: Running
    schema: str


@pytest.fixture
async def recorded(shared_prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Recorded]:
    """A coordinator writing usage rows to a schema of this test's own."""
    async with migrated_schema() as schema:
        settings = settings_for(
            shared_prod.target_config(), shared_lab.target_config(), database_url=dsn_in(schema)
        )
        async for item in running(settings):
            yield Recorded(item, schema)


async def row_for(schema: str, request_id: str) -> Any:
    connection = await asyncpg.connect(DSN, server_settings={"search_path": schema})
    try:
        for _ in range(200):  # rows are written in batches off the request path
            row = await connection.fetchrow(
                "SELECT * FROM usage_events WHERE request_id = $1", request_id
            )
            if row is not None:
                return row
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    raise AssertionError(f"no usage row for {request_id}")


async def test_an_mcp_call_is_recorded_and_logged_with_its_decision(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    request_id = uuid.uuid4().hex
    url = f"{recorded.coordinator.http_url}/mcp"
    caplog.set_level(logging.INFO, logger="coordinator.decisions")
    async with mcp_client(url, "2026-07-28", headers={"X-Request-Id": request_id}) as client:
        finance = call_meta(context={"finance-ssc": True})
        await client.call_tool("query", {"query": "Show recent expenses"}, meta=finance)
    row = await row_for(recorded.schema, request_id)
    assert row["door"] == "mcp"
    assert row["method"] == "tools/call"
    assert row["target"] == "odoo_prod"
    assert row["rule"] == "context:finance-ssc"
    assert row["status_code"] == "OK"
    assert row["api_key_id"] is not None
    lines = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert len(lines) == 1
    assert getattr(lines[0], "door", None) == "mcp"
