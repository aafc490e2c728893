"""The one converter between messages and the service's types."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator import convert
from coordinator.service import Attempt, RouteResult

DATA: dict[str, Any] = {
    "content": [{"type": "text", "text": "hi"}],
    "structuredContent": {"n": 3, "x": 1.5, "ok": True, "none": None, "list": [1, "a", {"b": []}]},
    "isError": False,
}


def result(data: Any, *, cached: bool) -> RouteResult:
    return RouteResult(
        data=data,
        target="odoo_prod",
        reason="r",
        confidence=0.5,
        rule="default",
        failover=False,
        cached=cached,
        attempts=(Attempt("odoo_prod", "ok", 1.0),),
    )


@pytest.mark.parametrize("cached", [False, True])
def test_route_response_carries_the_data_exactly(cached: bool) -> None:
    for _ in range(2):  # the second cached conversion comes from the memo
        response = convert.route_response(result(DATA, cached=cached))
        assert json_format.MessageToDict(response.data) == DATA
        assert response.routing.cached is cached


def test_cached_conversion_follows_the_object_not_its_id() -> None:
    first = {"a": 1}
    assert json_format.MessageToDict(convert.route_response(result(first, cached=True)).data) == {
        "a": 1
    }
    second = {"a": 2}
    assert json_format.MessageToDict(convert.route_response(result(second, cached=True)).data) == {
        "a": 2
    }


def test_struct_to_dict_round_trips_json_values() -> None:
    struct = struct_pb2.Struct()
    struct.update(DATA["structuredContent"])
    request = pb.RouteRequest(tool="t")
    request.arguments.CopyFrom(struct)
    assert convert.route_call(request).operation.arguments == DATA["structuredContent"]
