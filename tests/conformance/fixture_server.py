"""The fixtures the MCP conformance suite's server scenarios call, as an MCP server over stdio.

`scripts/conformance-server.sh` runs it as a stdio target behind the coordinator
and points the suite at the coordinator's `/mcp`: every scenario then crosses
the gateway (catalogue, routing, progress pass-through, errors).

    python -m tests.conformance.fixture_server
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

# A 1x1 red PNG and a silent 8-sample WAV.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0g"
    "AAAABJRU5ErkJggg=="
)
WAV = "UklGRjQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YRAAAACAgICAgICAgICAgICAgICA"

NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}
JSON_SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def image() -> dict[str, Any]:
    return {"type": "image", "data": PNG, "mimeType": "image/png"}


TOOL_RESULTS: dict[str, list[dict[str, Any]]] = {
    "test_simple_text": [text("This is a simple text response for testing.")],
    "test_image_content": [image()],
    "test_audio_content": [{"type": "audio", "data": WAV, "mimeType": "audio/wav"}],
    "test_embedded_resource": [
        {
            "type": "resource",
            "resource": {
                "uri": "test://embedded-resource",
                "mimeType": "text/plain",
                "text": "This is an embedded resource content.",
            },
        }
    ],
    "test_multiple_content_types": [
        text("Multiple content types test:"),
        image(),
        {
            "type": "resource",
            "resource": {
                "uri": "test://mixed-content-resource",
                "mimeType": "application/json",
                "text": json.dumps({"test": "data", "value": 123}),
            },
        },
    ],
}


async def list_tools(ctx: ServerRequestContext[Any], params: Any) -> dict[str, Any]:
    tools = [
        {"name": name, "description": f"Conformance fixture {name}", "inputSchema": NO_ARGUMENTS}
        for name in (
            *TOOL_RESULTS,
            "test_error_handling",
            "test_tool_with_progress",
            "test_logging_tool",
            "test_trigger_tool_change",
            "test_trigger_prompt_change",
        )
    ]
    tools.append(
        {
            "name": "test_custom_headers",
            "description": "Echoes a parameter that also travels as the Mcp-Param-Region header",
            "inputSchema": {
                "type": "object",
                "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
                "required": ["region"],
            },
        }
    )
    tools.append(
        {
            "name": "json_schema_2020_12_tool",
            "description": "Tool with JSON Schema 2020-12 features",
            "inputSchema": JSON_SCHEMA_2020_12,
        }
    )
    return {"tools": tools}


async def call_tool(
    ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
) -> dict[str, Any]:
    if params.name in TOOL_RESULTS:
        return {"content": TOOL_RESULTS[params.name]}
    if params.name == "test_error_handling":
        return {
            "isError": True,
            "content": [text("This tool intentionally returns an error for testing")],
        }
    if params.name == "test_tool_with_progress":
        for step in (0, 50, 100):
            await ctx.session.report_progress(step, 100)
            if step < 100:
                await anyio.sleep(0.05)
        return {"content": [text("Progress tool completed")]}
    if params.name == "test_logging_tool":
        for stage in ("started", "working", "done"):
            await ctx.session.send_log_message("info", f"logging tool {stage}", "fixtures")
        return {"content": [text("Logging tool completed")]}
    if params.name == "test_trigger_tool_change":
        await ctx.session.send_tool_list_changed()
        return {"content": [text("Tool list changed")]}
    if params.name == "test_trigger_prompt_change":
        await ctx.session.send_prompt_list_changed()
        return {"content": [text("Prompt list changed")]}
    if params.name == "test_custom_headers":
        return {"content": [text(f"region={(params.arguments or {}).get('region')}")]}
    if params.name == "json_schema_2020_12_tool":
        return {"content": [text("ok")]}
    raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")


async def list_resources(ctx: ServerRequestContext[Any], params: Any) -> dict[str, Any]:
    return {
        "resources": [
            {
                "uri": "test://static-text",
                "name": "static-text",
                "description": "A static text resource",
                "mimeType": "text/plain",
            },
            {
                "uri": "test://static-binary",
                "name": "static-binary",
                "description": "A static binary resource",
                "mimeType": "image/png",
            },
        ]
    }


async def list_templates(ctx: ServerRequestContext[Any], params: Any) -> dict[str, Any]:
    return {
        "resourceTemplates": [
            {
                "uriTemplate": "test://template/{id}/data",
                "name": "template",
                "description": "A resource template",
                "mimeType": "application/json",
            }
        ]
    }


async def read_resource(
    ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
) -> dict[str, Any]:
    uri = params.uri
    if uri == "test://static-text":
        content = {
            "uri": uri,
            "mimeType": "text/plain",
            "text": "This is the content of the static text resource.",
        }
    elif uri == "test://static-binary":
        content = {"uri": uri, "mimeType": "image/png", "blob": PNG}
    elif uri.startswith("test://template/") and uri.endswith("/data"):
        ident = uri.removeprefix("test://template/").removesuffix("/data")
        body = {"id": ident, "templateTest": True, "data": f"Data for ID: {ident}"}
        content = {"uri": uri, "mimeType": "application/json", "text": json.dumps(body)}
    else:
        raise MCPError(types.INVALID_PARAMS, "Resource not found", {"uri": uri})
    return {"contents": [content]}


async def list_prompts(ctx: ServerRequestContext[Any], params: Any) -> dict[str, Any]:
    def argument(name: str, description: str) -> dict[str, Any]:
        return {"name": name, "description": description, "required": True}

    return {
        "prompts": [
            {"name": "test_simple_prompt", "description": "A simple prompt"},
            {
                "name": "test_prompt_with_arguments",
                "description": "A prompt with arguments",
                "arguments": [
                    argument("arg1", "First test argument"),
                    argument("arg2", "Second test argument"),
                ],
            },
            {
                "name": "test_prompt_with_embedded_resource",
                "description": "A prompt with an embedded resource",
                "arguments": [argument("resourceUri", "URI of the resource to embed")],
            },
            {"name": "test_prompt_with_image", "description": "A prompt with an image"},
        ]
    }


async def get_prompt(
    ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams
) -> dict[str, Any]:
    arguments = params.arguments or {}

    def user(content: dict[str, Any]) -> dict[str, Any]:
        return {"role": "user", "content": content}

    if params.name == "test_simple_prompt":
        messages = [user(text("This is a simple prompt for testing."))]
    elif params.name == "test_prompt_with_arguments":
        a, b = arguments.get("arg1", ""), arguments.get("arg2", "")
        messages = [user(text(f"Prompt with arguments: arg1='{a}', arg2='{b}'"))]
    elif params.name == "test_prompt_with_embedded_resource":
        resource = {
            "uri": arguments.get("resourceUri", "test://embedded"),
            "mimeType": "text/plain",
            "text": "Embedded resource content for testing.",
        }
        messages = [
            user({"type": "resource", "resource": resource}),
            user(text("Please process the embedded resource above.")),
        ]
    elif params.name == "test_prompt_with_image":
        messages = [user(image()), user(text("Please analyze the image above."))]
    else:
        raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {params.name}")
    return {"messages": messages}


async def complete(
    ctx: ServerRequestContext[Any], params: types.CompleteRequestParams
) -> dict[str, Any]:
    values = ["paris", "park", "party"]
    prefix = params.argument.value
    return {"completion": {"values": [v for v in values if v.startswith(prefix)], "hasMore": False}}


def build() -> Server[Any]:
    server: Server[Any] = Server("conformance-fixtures", version="1.0.0")
    handle = server.add_request_handler
    handle("tools/list", types.PaginatedRequestParams, list_tools)
    handle("tools/call", types.CallToolRequestParams, call_tool)
    handle("resources/list", types.PaginatedRequestParams, list_resources)
    handle("resources/templates/list", types.PaginatedRequestParams, list_templates)
    handle("resources/read", types.ReadResourceRequestParams, read_resource)
    handle("prompts/list", types.PaginatedRequestParams, list_prompts)
    handle("prompts/get", types.GetPromptRequestParams, get_prompt)
    handle("completion/complete", types.CompleteRequestParams, complete)
    return server


async def main() -> None:
    server = build()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    asyncio.run(main())
