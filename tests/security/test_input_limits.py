"""One set of input limits on both doors, checked before the key and before any work:
400 / INVALID_ARGUMENT naming the limit, 413 for size, never a 500 or a traceback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from google.protobuf import struct_pb2
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator.limits import InputLimits, check_json, check_message
from tests.integration.conftest import Running
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
