"""The answer limits as pure values: depth and size measured without recursion."""

from __future__ import annotations

import pytest
from google.protobuf.message import DecodeError
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator import convert
from coordinator.answers import MAX_ANSWER_DEPTH, AnswerSize, check_deliverable, measure
from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.service import AggregateResult, RouteResult


def nested(levels: int) -> list[object]:
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_depth_counts_containers_and_stops_past_the_limit() -> None:
    assert measure(nested(40), max_depth=40).depth == 40
    assert measure(nested(100_000), max_depth=40) == AnswerSize(41, 0)
    assert measure({"a": [1, "xy"]}, max_depth=40) == AnswerSize(2, len('{"a":[1,"xy"]}'))
    assert measure("text", max_depth=40) == AnswerSize(0, 6)


def test_length_is_that_of_compact_json_whatever_the_values() -> None:
    assert measure({"é": "x" * 1000}, max_depth=40).length == len('{"é":""}'.encode()) + 1000
    assert measure([2**70, float("nan")], max_depth=40).length == len(
        "[1180591620717411303424,NaN]"
    )


def test_the_refusal_says_the_call_ran_and_carries_an_error_info() -> None:
    check_deliverable("odoo_prod", nested(MAX_ANSWER_DEPTH), max_bytes=10**6)
    with pytest.raises(CoordinatorError) as raised:
        check_deliverable("odoo_prod", nested(MAX_ANSWER_DEPTH + 1), max_bytes=10**6)
    error = raised.value
    assert error.code is ErrorCode.OUT_OF_RANGE
    assert error.message.startswith("the call ran on odoo_prod, but its answer cannot be")
    assert (error.reason, error.metadata["target"], error.metadata["ran"]) == (
        "ANSWER_TOO_DEEP",
        "odoo_prod",
        "true",
    )
    with pytest.raises(CoordinatorError) as too_large:
        check_deliverable("odoo_lab", {"data": "x" * 2000}, max_bytes=1024)
    assert too_large.value.reason == "ANSWER_TOO_LARGE"
    assert too_large.value.metadata["limit"] == "1024"


def deep(levels: int, shape: str) -> object:
    """`levels` JSON levels of objects, arrays, or both in turn."""
    value: object = "leaf"
    for level in range(levels):
        as_object = shape == "object" or (shape == "mixed" and level % 2 == 0)
        value = {"k": value} if as_object else [value]
    return value


def round_trips(data: object) -> bool:
    """Whether Route and Aggregate answers carrying `data` survive a default protobuf parser."""
    route = convert.route_response(
        RouteResult(data, "odoo_prod", "", 1.0, "default", False, False, ())
    )
    aggregate = convert.aggregate_response(AggregateResult("q", {"odoo_prod": data}, {}, (), 0.0))
    try:
        pb.RouteResponse.FromString(route.SerializeToString())
        pb.AggregateResponse.FromString(aggregate.SerializeToString())
    except DecodeError:
        return False
    return True


@pytest.mark.parametrize("shape", ["object", "array", "mixed"])
def test_every_answer_within_the_depth_limit_crosses_both_responses(shape: str) -> None:
    data = deep(MAX_ANSWER_DEPTH, shape)
    assert measure(data, max_depth=MAX_ANSWER_DEPTH).depth == MAX_ANSWER_DEPTH
    assert round_trips(data)


def test_the_depth_limit_is_the_most_objects_an_aggregate_can_carry() -> None:
    """An object costs three levels of protobuf nesting: one more and a client cannot parse it
    (the conversion itself refuses it, or the parse does)."""
    try:
        fits = round_trips(deep(MAX_ANSWER_DEPTH + 1, "object"))
    except DecodeError:
        fits = False
    assert not fits
