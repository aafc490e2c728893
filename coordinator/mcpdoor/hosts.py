"""What to paste into an MCP host to use the coordinator: VS Code, Claude Desktop, any other.

The demo prints these for its own ports; the README shows the same shapes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SERVER_NAME = "mcp-coordinator"


def vscode_config(url: str, headers: Mapping[str, str]) -> str:
    """`.vscode/mcp.json`: the HTTP door at `url` with these headers."""
    server: dict[str, Any] = {"type": "http", "url": url, "headers": dict(headers)}
    return _dumps({"servers": {SERVER_NAME: server}})


def claude_desktop_config(env: Mapping[str, str], command: str = SERVER_NAME) -> str:
    """`claude_desktop_config.json`: Claude Desktop launches `mcp-coordinator stdio`."""
    server = {"command": command, "args": ["stdio"], "env": dict(env)}
    return _dumps({"mcpServers": {SERVER_NAME: server}})


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
