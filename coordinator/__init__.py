"""MCP Coordinator: one service in front of several MCP servers."""

__version__ = "0.1.0"
