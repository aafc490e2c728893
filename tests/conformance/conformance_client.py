"""The client the MCP conformance suite drives.

    python -m tests.conformance.conformance_client <url>


The suite starts a mock server per scenario, runs this command with the
server's URL as the last argument and `MCP_CONFORMANCE_SCENARIO` /
`MCP_CONFORMANCE_PROTOCOL_VERSION` (/ `MCP_CONFORMANCE_CONTEXT`) in the
environment, then checks what went over the wire. Everything goes through
`coordinator.targets.HttpTarget`, the code the coordinator uses upstream; this
module only decides which requests a scenario needs, as a caller of the
coordinator would make them:

- list the tools (the handshake or per-request envelope comes with it);
- call the scenario's tools: those named in the context's `toolCalls`, the
  one a scenario is known to expect, or else every tool listed, with
  arguments built from its input schema;
- list and read resources and list and get prompts, when the server has them;
- answer an `input_required` result (2026-07-28 multi round-trip requests) by
  accepting every elicitation with the schema's defaults and retrying with
  the `requestState` echoed unchanged (never carried to another request).

Exits non-zero when a request fails in a way the scenario did not expect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from coordinator.config import TargetConfig
from coordinator.targets import (
    HttpTarget,
    McpErrorResponse,
    Target,
    TargetError,
    ToolInfo,
    open_target,
)

logger = logging.getLogger("conformance_client")

KNOWN_CALLS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "tools_call": [("add_numbers", {"a": 5, "b": 3})],
    "sse-retry": [("test_reconnection", {})],
}
LIST_ONLY = {"initialize", "json-schema-ref-no-deref"}
SCHEMA_ECHO = "json-schema-2020-12-preservation"
MAX_INPUT_ROUNDS = 5
TIMEOUT = 20.0


def example_value(schema: Any) -> Any:
    """A value that satisfies simple schemas: default, const, first enum, or by type."""
    if not isinstance(schema, Mapping):
        return None
    for key in ("default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return {
        "string": "example",
        "integer": 1,
        "number": 1,
        "boolean": True,
        "array": [],
        "object": {},
    }.get(str(kind))


def arguments_for(tool: ToolInfo) -> dict[str, Any]:
    properties = tool.input_schema.get("properties")
    required = tool.input_schema.get("required")
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        return {}
    return {name: example_value(properties.get(name)) for name in required if name in properties}


def answer_input_request(request: Any) -> dict[str, Any]:
    """What the caller of the coordinator would answer: accept, with the schema's defaults."""
    method = request.get("method") if isinstance(request, Mapping) else None
    params = request.get("params") if isinstance(request, Mapping) else None
    if method == "elicitation/create":
        schema = params.get("requestedSchema") if isinstance(params, Mapping) else None
        properties = schema.get("properties") if isinstance(schema, Mapping) else None
        content: dict[str, Any] = {}
        if isinstance(properties, Mapping):
            for name, prop in properties.items():
                value = example_value(prop)
                if value is not None:
                    content[name] = value
        return {"action": "accept", "content": content}
    if method == "roots/list":
        return {"roots": []}
    return {}


async def call_with_input_rounds(
    target: Target, method: str, params: dict[str, Any]
) -> dict[str, Any]:
    """One request, retried with `inputResponses` while the server answers `input_required`."""
    request = dict(params)
    for _ in range(MAX_INPUT_ROUNDS):
        result = await target.request(method, request, timeout=TIMEOUT)
        if result.get("resultType") != "input_required":
            return result
        requests = result.get("inputRequests")
        request = dict(params)
        if isinstance(requests, Mapping):
            request["inputResponses"] = {
                key: answer_input_request(r) for key, r in requests.items()
            }
        if "requestState" in result:
            request["requestState"] = result["requestState"]
    raise RuntimeError(f"{method}: still input_required after {MAX_INPUT_ROUNDS} rounds")


def planned_calls(scenario: str, tools: Mapping[str, ToolInfo]) -> list[tuple[str, dict[str, Any]]]:
    context = os.environ.get("MCP_CONFORMANCE_CONTEXT")
    if context:
        try:
            listed = json.loads(context).get("toolCalls")
        except (ValueError, AttributeError):
            listed = None
        if isinstance(listed, list):
            return [
                (str(call["name"]), dict(call.get("arguments") or {}))
                for call in listed
                if isinstance(call, Mapping) and "name" in call
            ]
    if scenario in KNOWN_CALLS:
        return KNOWN_CALLS[scenario]
    if scenario == SCHEMA_ECHO:
        return schema_echo_calls(tools)
    if scenario in LIST_ONLY:
        return []
    return [(name, arguments_for(tool)) for name, tool in tools.items()]


def schema_echo_calls(tools: Mapping[str, ToolInfo]) -> list[tuple[str, dict[str, Any]]]:
    """Hands the other tool's inputSchema, exactly as listed, to the tool that takes a `schema`."""
    echo = [t for t in tools.values() if t.input_schema.get("required") == ["schema"]]
    others = [t for t in tools.values() if t not in echo]
    if len(echo) != 1 or not others:
        return []
    return [(echo[0].name, {"schema": others[0].raw.get("inputSchema")})]


async def run(url: str, scenario: str, version: str) -> int:
    protocol = "2026-07-28" if version >= "2026" else "2025-11-25"
    config = TargetConfig(name="conformance", url=url, protocol=protocol, timeout=TIMEOUT)  # type: ignore[arg-type]
    failures = 0
    target: Target = open_target(config)
    if scenario == "sse-retry":
        # The scenario's checker takes the first GET after it closes the call's stream for the
        # client's resumption; a notification listener's GET racing it would be counted instead.
        target = HttpTarget(config, listen=False)
    async with target:
        tools = await target.list_tools(timeout=TIMEOUT)
        logger.info("tools: %s", sorted(tools))
        for name, arguments in planned_calls(scenario, tools):
            if name not in tools:
                logger.info("skipping %s: not offered (or rejected) by the server", name)
                continue
            try:
                result = await call_with_input_rounds(
                    target, "tools/call", {"name": name, "arguments": arguments}
                )
                logger.info("tools/call %s -> %s", name, json.dumps(result)[:300])
            except McpErrorResponse as error:
                logger.info("tools/call %s -> error %s", name, error)
        if scenario in LIST_ONLY or scenario in KNOWN_CALLS or scenario == SCHEMA_ECHO:
            return failures
        failures += await exercise_resources_and_prompts(target)
    return failures


async def exercise_resources_and_prompts(target: Target) -> int:
    for list_method, get_method, key, field in (
        ("resources/list", "resources/read", "resources", "uri"),
        ("prompts/list", "prompts/get", "prompts", "name"),
    ):
        try:
            listed = await target.request(list_method, {}, timeout=TIMEOUT)
        except McpErrorResponse as error:
            logger.info("%s -> %s", list_method, error)
            continue
        for item in listed.get(key) or ():
            if not isinstance(item, Mapping) or field not in item:
                continue
            params: dict[str, Any] = {field: item[field]}
            if get_method == "prompts/get":
                arguments = {
                    a["name"]: "example"
                    for a in item.get("arguments") or ()
                    if isinstance(a, Mapping) and a.get("required") and "name" in a
                }
                params["arguments"] = arguments
            try:
                await call_with_input_rounds(target, get_method, params)
            except McpErrorResponse as error:
                logger.info("%s %s -> %s", get_method, item[field], error)
    return 0


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m tests.conformance.conformance_client <server-url>", file=sys.stderr)
        raise SystemExit(2)
    logging.basicConfig(
        level=logging.DEBUG, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s"
    )
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    version = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION", "2025-11-25")
    logger.info("scenario %r at %s against %s", scenario, version, args[-1])
    try:
        failures = asyncio.run(run(args[-1], scenario, version))
    except TargetError as error:
        logger.error("failed: %r", error)
        raise SystemExit(1) from None
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
