"""A real coordinator with several keys (scopes, target allowances) in front of the
shared sample targets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from coordinator.auth import hash_key
from coordinator.config import ApiKeyConfig
from tests.integration.conftest import Running, running, settings_for
from tests.support.mcp_servers import SampleServer

OPS_KEY = "ops-key-with-every-scope-0123456789"
REPORTER_KEY = "reporter-key-route-status-lab-only"
VIEWER_KEY = "viewer-key-status-only-0123456789"

KEYS = (
    ApiKeyConfig(id="ops", hash=hash_key(OPS_KEY), scopes=("admin",)),
    ApiKeyConfig(
        id="reporter",
        hash=hash_key(REPORTER_KEY),
        scopes=("route", "status"),
        targets=("odoo_lab",),
    ),
    ApiKeyConfig(id="viewer", hash=hash_key(VIEWER_KEY), scopes=("status",)),
)


async def keyed_coordinator(
    prod: SampleServer, lab: SampleServer, **overrides: Any
) -> AsyncIterator[Running]:
    values: dict[str, Any] = {"api_key": None, "api_keys": KEYS}
    values.update(overrides)
    settings = settings_for(prod.target_config(), lab.target_config(), **values)
    async for item in running(settings):
        yield item


@pytest.fixture
async def keyed(shared_prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    async for item in keyed_coordinator(shared_prod, shared_lab):
        yield item
