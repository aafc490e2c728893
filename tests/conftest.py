"""Fixtures shared by integration and end-to-end tests: sample MCP servers in
their own processes, started once per session for tests that do not harm them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from tests.support.mcp_servers import SampleServer
from tests.support.services import MissingService, ensure_services

# At import, not in a hook: pytest imports this file before any conftest or test module below
# it, and those read REDIS_URL / DATABASE_URL when they are imported.
# scripts/check runs only tests that need neither, and says so with MCPC_TEST_SERVICES=none.
_MISSING: str | None = None
try:
    for _service in ensure_services() if os.environ.get("MCPC_TEST_SERVICES") != "none" else ():
        print(f"tests: started a throwaway {_service}")
except MissingService as _missing:
    _MISSING = f"cannot run the tests: {_missing}"


def pytest_configure(config: pytest.Config) -> None:
    # A usage error is one line (exit status 4); raised at import it would come wrapped in
    # "ImportError while loading conftest" and a traceback.
    if _MISSING is not None:
        raise pytest.UsageError(_MISSING)


def _start(server: SampleServer) -> SampleServer:
    asyncio.run(server.start())
    return server


def _stop(server: SampleServer) -> None:
    asyncio.run(server.stop())


@pytest.fixture(scope="session")
def shared_prod() -> Iterator[SampleServer]:
    """odoo_prod sample (production data), shared by tests that do not harm it."""
    server = _start(SampleServer("odoo_prod", "production"))
    yield server
    _stop(server)


@pytest.fixture(scope="session")
def shared_lab() -> Iterator[SampleServer]:
    """odoo_lab sample (lab data), legacy protocol generation only."""
    server = _start(SampleServer("odoo_lab", "lab", protocol="2025-11-25"))
    yield server
    _stop(server)
