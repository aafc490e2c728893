"""Fixtures shared by integration and end-to-end tests: sample MCP servers in
their own processes, started once per session for tests that do not harm them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.support.mcp_servers import SampleServer


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
