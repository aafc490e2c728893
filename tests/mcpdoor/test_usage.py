"""A call through /mcp is one usage row with door `mcp` and one decision log line."""

from __future__ import annotations

import logging
import uuid

import pytest

from tests.integration.conftest import Running
from tests.integration.test_usage_recording import recorded, row_for
from tests.mcpdoor.support import call_meta, mcp_client

__all__ = ["recorded"]

pytestmark = pytest.mark.slow


async def test_an_mcp_call_is_recorded_and_logged_with_its_decision(
    recorded: Running, caplog: pytest.LogCaptureFixture
) -> None:
    request_id = uuid.uuid4().hex
    url = f"{recorded.http_url}/mcp"
    caplog.set_level(logging.INFO, logger="coordinator.decisions")
    async with mcp_client(url, "2026-07-28", headers={"X-Request-Id": request_id}) as client:
        await client.call_tool(
            "query",
            {"query": "Show recent expenses"},
            meta=call_meta(context={"finance-ssc": True}),
        )
    row = await row_for(request_id)
    assert row["door"] == "mcp"
    assert row["method"] == "tools/call"
    assert row["target"] == "odoo_prod"
    assert row["rule"] == "context:finance-ssc"
    assert row["status_code"] == "OK"
    assert row["api_key_id"] is not None
    lines = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert len(lines) == 1
    assert getattr(lines[0], "door", None) == "mcp"
