"""Annotations the gateway cannot serve stop start-up with a message naming
the method and the problem. Services are built at run time in their own pool."""

from __future__ import annotations

import itertools

import httpx
import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

from coordinator.calls import CallContext
from coordinator.gateway import GatewayConfigError, build_gateway

_numbers = itertools.count()


def _service(rule: http_pb2.HttpRule) -> ServiceDescriptor:
    """A one-method service `Svc.Get(Req) returns (Req)` with `rule`."""
    pool = descriptor_pool.DescriptorPool()
    file = descriptor_pb2.FileDescriptorProto(
        name=f"configtest{next(_numbers)}.proto", package="configtest", syntax="proto3"
    )
    request = file.message_type.add(name="Req")
    request.field.add(
        name="name",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    request.field.add(
        name="tags",
        number=2,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
    )
    method = file.service.add(name="Svc").method.add(
        name="Get", input_type=".configtest.Req", output_type=".configtest.Req"
    )
    method.options.Extensions[annotations_pb2.http].CopyFrom(rule)
    pool.Add(file)
    return pool.FindServiceByName("configtest.Svc")


async def _echo(request: Message, context: CallContext) -> Message:
    return request


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (http_pb2.HttpRule(get="/v1/{name"), "unbalanced"),
        (http_pb2.HttpRule(get="/v1/**/x"), "'**' must be the last segment"),
        (http_pb2.HttpRule(get="/v1/{missing}"), "no field 'missing'"),
        (http_pb2.HttpRule(get="/v1/{tags}"), "must be a singular"),
        (http_pb2.HttpRule(post="/v1/x", body="nope"), "body field 'nope'"),
        (http_pb2.HttpRule(get="/v1/x", response_body="nope"), "response_body 'nope'"),
        (http_pb2.HttpRule(body="*"), "without a path"),
    ],
)
def test_bad_annotations_are_refused_at_start_up(rule: http_pb2.HttpRule, problem: str) -> None:
    service = _service(rule)

    with pytest.raises(GatewayConfigError, match=r"configtest\.Svc\.Get") as raised:
        build_gateway(services=[(service, {"Get": _echo})])

    assert problem in str(raised.value)


def test_missing_handler_is_refused() -> None:
    service = _service(http_pb2.HttpRule(get="/v1/x"))

    with pytest.raises(GatewayConfigError, match="no handler"):
        build_gateway(services=[(service, {})])


def test_handler_for_an_unknown_method_is_refused() -> None:
    service = _service(http_pb2.HttpRule(get="/v1/x"))

    with pytest.raises(GatewayConfigError, match="Gett"):
        build_gateway(services=[(service, {"Get": _echo, "Gett": _echo})])


async def test_a_service_built_at_run_time_is_served() -> None:
    service = _service(http_pb2.HttpRule(get="/v1/{name=things/*}"))
    app = build_gateway(services=[(service, {"Get": _echo})])
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/v1/things/7?tags=a&tags=b")

    assert response.json() == {"name": "things/7", "tags": ["a", "b"]}
