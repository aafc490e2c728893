"""Sample Odoo-like MCP servers, for tests, benchmarks and the demo.

`build_sample_server(name, environment)` returns an `MCPServer` whose answers
name the server and its environment, so a test can tell which one answered.
`python -m coordinator.samples --help` serves one over Streamable HTTP or stdio.
"""

from __future__ import annotations

from coordinator.samples.server import (
    SampleState,
    build_sample_server,
    sample_data,
)

__all__ = ["SampleState", "build_sample_server", "sample_data"]
