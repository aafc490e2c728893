"""One set of input limits on both doors, checked before the key and before any work:
400 / INVALID_ARGUMENT naming the limit, 413 for size, never a 500 or a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from google.protobuf import struct_pb2
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator.limits import InputLimits, check_json, check_message
from tests.integration.conftest import Running
from tests.mcpdoor.support import open_session, session_headers
from tests.support.mcp_servers import SampleServer

from .conftest import OPS_KEY, keyed_coordinator

AUTH = (("x-api-key", OPS_KEY),)
LIMITS = InputLimits(max_json_depth=8, max_string_length=100, max_key_length=10)


def nested(levels: int) -> dict[str, object]:
    document: dict[str, object] = {}
    for _ in range(levels - 1):
        document = {"a": document}
    return document


def nested_struct(levels: int) -> struct_pb2.Struct:
    inner = struct_pb2.Struct()
    for _ in range(levels - 1):
        outer = struct_pb2.Struct()
        outer.fields["a"].struct_value.CopyFrom(inner)
        inner = outer
    return inner


@pytest.mark.parametrize("levels", [8, 9, 5000])
def test_json_depth_is_checked_without_recursion(levels: int) -> None:
    body = {"query": "q", "context": nested(levels)}
    if levels <= 8:
        check_json(body, LIMITS)
        return
    with pytest.raises(Exception, match=r"context: JSON nested deeper than MAX_JSON_DEPTH=8"):
        check_json(body, LIMITS)


def test_message_and_json_walkers_agree_on_depth() -> None:
    for levels in (8, 9):
        request = pb.RouteRequest(query="q")
        request.context.CopyFrom(nested_struct(levels))
        ok = levels <= 8
        try:
            check_message(request, LIMITS)
            message_ok = True
        except Exception:
            message_ok = False
        assert message_ok is ok


def test_lists_count_as_levels_and_strings_and_keys_have_lengths() -> None:
    deep_list: object = []
    for _ in range(9):
        deep_list = [deep_list]
    with pytest.raises(Exception, match="arguments: JSON nested deeper"):
        check_json({"tool": "t", "arguments": {"x": deep_list}}, LIMITS)
    with pytest.raises(Exception, match="query: string longer than MAX_STRING_LENGTH=100"):
        check_json({"query": "q" * 101}, LIMITS)
    with pytest.raises(Exception, match="context: object key longer than MAX_KEY_LENGTH=10"):
        check_json({"query": "q", "context": {"k" * 11: 1}}, LIMITS)
    request = pb.RouteRequest(tool="t")
    request.arguments.update({"note": "x" * 101})
    with pytest.raises(Exception, match="arguments: string longer"):
        check_message(request, LIMITS)
    aggregate = pb.AggregateRequest(query="q", targets=["t" * 101])
    with pytest.raises(Exception, match="targets: string longer"):
        check_message(aggregate, LIMITS)


@pytest.fixture
async def limited(shared_prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    async for item in keyed_coordinator(
        shared_prod, shared_lab, max_json_depth=8, max_request_bytes=64 * 1024
    ):
        yield item


@pytest.mark.parametrize("levels", [9, 60, 491, 1000])
async def test_a_deep_context_is_a_400_on_rest_before_the_key_is_checked(
    limited: Running, levels: int, caplog: pytest.LogCaptureFixture
) -> None:
    body = '{"query": "q", "context": ' + '{"a": ' * (levels - 1) + "{}" + "}" * levels
    with caplog.at_level(logging.WARNING):
        async with httpx.AsyncClient(base_url=limited.http_url) as client:
            answer = await client.post(
                "/route", content=body, headers={"Content-Type": "application/json"}
            )
    assert answer.status_code == 400
    assert "MAX_JSON_DEPTH=8" in answer.json()["message"]
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("levels", [9, 40])
async def test_a_deep_context_is_invalid_argument_on_grpc(limited: Running, levels: int) -> None:
    request = pb.RouteRequest(query="q")
    request.context.CopyFrom(nested_struct(levels))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await limited.stub.Route(request)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "MAX_JSON_DEPTH=8" in (raised.value.details() or "")


async def test_the_default_depth_of_32_passes_on_both_doors(keyed: Running) -> None:
    request = pb.RouteRequest(tool="list_skills", target="odoo_lab")
    request.context.CopyFrom(nested_struct(32))
    answer = await keyed.stub.Route(request, metadata=AUTH)
    assert answer.routing.target == "odoo_lab"
    too_deep = pb.RouteRequest(tool="list_skills", target="odoo_lab")
    too_deep.context.CopyFrom(nested_struct(33))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await keyed.stub.Route(too_deep, metadata=AUTH)
    assert "MAX_JSON_DEPTH=32" in (raised.value.details() or "")
    async with httpx.AsyncClient(base_url=keyed.http_url) as client:
        body = {"tool": "list_skills", "target": "odoo_lab", "context": nested(32)}
        ok = await client.post("/route", json=body, headers={"X-API-Key": OPS_KEY})
        body["context"] = nested(33)
        refused = await client.post("/route", json=body, headers={"X-API-Key": OPS_KEY})
    assert (ok.status_code, refused.status_code) == (200, 400)


async def test_an_undecodable_grpc_message_is_invalid_argument_without_parser_text(
    limited: Running,
) -> None:
    route: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = limited.channel.unary_unary(
        "/mcpcoordinator.v1.CoordinatorService/Route",
        request_serializer=None,
        response_deserializer=None,
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await route(b"\x0a\xff\xff\xff\xff\x0f", metadata=AUTH)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == (
        "request is not a valid mcpcoordinator.v1.RouteRequest message"
    )
    # Nested past protobuf's own recursion limit: the same answer, not UNKNOWN.
    deep = nested_struct(200).SerializeToString()
    context_field = b"\x12" + _varint(len(deep)) + deep
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await route(b"\x0a\x01q" + context_field, metadata=AUTH)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


async def test_max_request_bytes_is_the_same_on_both_doors(limited: Running) -> None:
    async with httpx.AsyncClient(base_url=limited.http_url) as client:
        answer = await client.post(
            "/route",
            json={"query": "q" * (64 * 1024)},
            headers={"X-API-Key": OPS_KEY},
        )
    assert answer.status_code == 413
    assert "MAX_REQUEST_BYTES=65536" in answer.json()["message"]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await limited.stub.Route(pb.RouteRequest(query="q" * (64 * 1024)), metadata=AUTH)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "MAX_REQUEST_BYTES=65536" in (raised.value.details() or "")


# ---------------------------------------------------------------- the MCP door

MCP_ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def mcp_headers(method: str, name: str = "") -> dict[str, str]:
    """A 2026-07-28 request (the fast path takes a plain tools/call)."""
    headers = {
        "X-API-Key": OPS_KEY,
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": method,
    }
    if name:
        headers["Mcp-Name"] = name
    return headers


def mcp_tools_call(arguments: object, **meta: object) -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {
            "name": "list_skills",
            "arguments": arguments,
            "_meta": {**MCP_ENVELOPE, **meta},
        },
    }


def with_deep(message: dict[str, object], levels: int) -> str:
    """`message` as JSON, with the string "DEEP" replaced by an object nested `levels`
    deep, written by hand: json.dumps itself recurses."""
    deep = '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)
    written = json.dumps(message)
    assert '"DEEP"' in written
    return written.replace('"DEEP"', deep)


async def open_mcp_session(client: httpx.AsyncClient) -> dict[str, str]:
    """Opens a 2025-11-25 session; the headers of a request in it."""
    session = await open_session(client, "/mcp", OPS_KEY)
    return session_headers(session, OPS_KEY)


def mcp_error(answer: httpx.Response) -> dict[str, object]:
    """The JSON-RPC error of an answer sent as JSON or as an event stream."""
    if answer.headers["content-type"].startswith("application/json"):
        message = answer.json()
    else:
        data = [line[5:] for line in answer.text.splitlines() if line.startswith("data:")]
        message = json.loads(data[-1])
    error = message.get("error")
    assert isinstance(error, dict), message
    return error


@pytest.mark.slow
async def test_the_default_depth_of_32_passes_on_the_mcp_door_and_33_does_not(
    keyed: Running,
) -> None:
    headers = mcp_headers("tools/call", "list_skills")
    async with httpx.AsyncClient(base_url=keyed.http_url) as client:
        ok = await client.post("/mcp", json=mcp_tools_call({"a": nested(31)}), headers=headers)
        refused = await client.post("/mcp", json=mcp_tools_call({"a": nested(32)}), headers=headers)
    assert ok.status_code == 200, ok.text
    assert "result" in ok.json()
    assert refused.status_code == 400
    error = mcp_error(refused)
    assert error["code"] == -32602
    assert error["message"] == "arguments: JSON nested deeper than MAX_JSON_DEPTH=32 levels"


@pytest.mark.slow
@pytest.mark.parametrize("levels", [9, 300, 1000])
async def test_deep_arguments_are_refused_on_the_mcp_fast_paths_without_a_traceback(
    limited: Running, levels: int, caplog: pytest.LogCaptureFixture
) -> None:
    stateless_call = with_deep(mcp_tools_call("DEEP"), levels)
    session_call = with_deep(
        {
            "jsonrpc": "2.0",
            "id": 8,
            "method": "tools/call",
            "params": {"name": "list_skills", "arguments": "DEEP"},
        },
        levels,
    )
    with caplog.at_level(logging.WARNING):
        async with httpx.AsyncClient(base_url=limited.http_url) as client:
            stateless = await client.post(
                "/mcp", content=stateless_call, headers=mcp_headers("tools/call", "list_skills")
            )
            session = await open_mcp_session(client)
            in_session = await client.post("/mcp", content=session_call, headers=session)
    assert stateless.status_code == 400
    assert in_session.status_code == 200  # that revision answers every error in the body
    for answer in (stateless, in_session):
        error = mcp_error(answer)
        assert error["code"] == -32602, (answer.request.headers, error)
        assert "arguments: JSON nested deeper than MAX_JSON_DEPTH=8" in str(error["message"])
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.slow
async def test_long_strings_keys_and_deep_meta_are_refused_on_the_mcp_door(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    headers = mcp_headers("tools/call", "list_skills")
    async for item in keyed_coordinator(
        shared_prod, shared_lab, max_json_depth=8, max_string_length=100, max_key_length=64
    ):
        async with httpx.AsyncClient(base_url=item.http_url) as client:
            long_string = await client.post(
                "/mcp", json=mcp_tools_call({"note": "x" * 101}), headers=headers
            )
            long_key = await client.post(
                "/mcp", json=mcp_tools_call({"k" * 65: 1}), headers=headers
            )
            deep_meta = await client.post(
                "/mcp",
                json=mcp_tools_call({}, **{"mcp-coordinator/context": nested(9)}),
                headers=headers,
            )
            at_limits = await client.post(
                "/mcp", json=mcp_tools_call({"k" * 64: "x" * 100}), headers=headers
            )
    assert [a.status_code for a in (long_string, long_key, deep_meta)] == [400, 400, 400]
    assert mcp_error(long_string)["message"] == (
        "arguments: string longer than MAX_STRING_LENGTH=100 characters"
    )
    assert mcp_error(long_key)["message"] == (
        "arguments: object key longer than MAX_KEY_LENGTH=64 characters"
    )
    assert "_meta: JSON nested deeper than MAX_JSON_DEPTH=8" in str(mcp_error(deep_meta)["message"])
    assert at_limits.status_code == 200, at_limits.text


@pytest.mark.slow
@pytest.mark.parametrize("levels", [9, 1000])
async def test_requests_for_the_sdk_path_are_checked_too(
    limited: Running, levels: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Requests the fast path does not take (prompts/get, resources/read, a call that wants
    progress, any request on a session) are checked before the SDK parses them: its parser
    would call a document a few hundred levels deep a parse error."""
    deep_meta = {**MCP_ENVELOPE, "mcp-coordinator/context": "DEEP"}
    prompt: dict[str, object] = {
        "jsonrpc": "2.0",
        "id": 8,
        "method": "prompts/get",
        "params": {"name": "summarize_expenses", "_meta": deep_meta},
    }
    resource = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "resources/read",
        "params": {"uri": "odoo://odoo_lab/models", "_meta": deep_meta},
    }
    in_session = {**prompt, "params": {"name": "summarize_expenses", "_meta": {"x": "DEEP"}}}
    with_progress = mcp_tools_call("DEEP", progressToken="p")
    with caplog.at_level(logging.WARNING):
        async with httpx.AsyncClient(base_url=limited.http_url) as client:
            answers = [
                await client.post(
                    "/mcp",
                    content=with_deep(prompt, levels),
                    headers=mcp_headers("prompts/get", "summarize_expenses"),
                ),
                await client.post(
                    "/mcp",
                    content=with_deep(resource, levels),
                    headers=mcp_headers("resources/read", "odoo://odoo_lab/models"),
                ),
                await client.post(
                    "/mcp",
                    content=with_deep(with_progress, levels),
                    headers=mcp_headers("tools/call", "list_skills"),
                ),
            ]
            session = await open_mcp_session(client)
            answers.append(
                await client.post("/mcp", content=with_deep(in_session, levels), headers=session)
            )
    assert [answer.status_code for answer in answers] == [400, 400, 400, 200]
    for answer in answers:
        error = mcp_error(answer)
        assert error["code"] == -32602, error
        assert "nested deeper than MAX_JSON_DEPTH=8" in str(error["message"])
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.slow
async def test_an_oversized_mcp_body_is_a_413_naming_the_limit(limited: Running) -> None:
    big = mcp_tools_call({"note": "x" * (64 * 1024)})
    headers = mcp_headers("tools/call", "list_skills")
    async with httpx.AsyncClient(base_url=limited.http_url) as client:
        declared = await client.post("/mcp", json=big, headers=headers)

        async def chunks() -> AsyncIterator[bytes]:
            payload = json.dumps(big).encode()
            for start in range(0, len(payload), 16 * 1024):
                yield payload[start : start + 16 * 1024]

        streamed = await client.post("/mcp", content=chunks(), headers=headers)
        no_key = await client.post(
            "/mcp", json=big, headers={k: v for k, v in headers.items() if k != "X-API-Key"}
        )
    for answer in (declared, streamed, no_key):
        assert answer.status_code == 413, answer.text
        assert "MAX_REQUEST_BYTES=65536" in str(answer.json()["error"]["message"])
