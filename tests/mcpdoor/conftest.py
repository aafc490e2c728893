"""A real coordinator over the shared samples, as in the integration tests."""

from __future__ import annotations

from tests.integration.conftest import coordinator

__all__ = ["coordinator"]
