"""The answer limits as pure values: depth and size measured without recursion."""

from __future__ import annotations

import pytest

from coordinator.answers import MAX_ANSWER_DEPTH, AnswerSize, check_deliverable, measure
from coordinator.errors import CoordinatorError, ErrorCode


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
