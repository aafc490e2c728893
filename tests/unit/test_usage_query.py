"""A Usage request becomes a validated query; a bad one is refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator.convert import page_token, usage_query
from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.usage.report import Cursor, UsageFilter

NOW = datetime(2026, 11, 30, 12, 0, 30, 250_000, tzinfo=UTC)


def test_defaults_are_one_hour_of_one_minute_buckets_ending_with_the_current_one() -> None:
    query = usage_query(pb.UsageRequest(), NOW)
    assert query.bucket_seconds == 60
    assert query.end == datetime(2026, 11, 30, 12, 1, tzinfo=UTC)
    assert query.start == datetime(2026, 11, 30, 11, 1, tzinfo=UTC)
    assert query.page_size == 50
    assert query.filter == UsageFilter()
    assert query.before is None


def test_filters_and_window_are_taken_as_given() -> None:
    query = usage_query(
        pb.UsageRequest(
            window_seconds=86400,
            bucket_seconds=900,
            target="odoo_lab",
            door="grpc",
            key_id="k1",
            outcome="error",
            request_id="r1",
            page_size=100,
            recent_only=True,
        ),
        NOW,
    )
    assert (query.start, query.end) == (
        datetime(2026, 11, 29, 12, 15, tzinfo=UTC),
        datetime(2026, 11, 30, 12, 15, tzinfo=UTC),
    )
    assert query.filter == UsageFilter("odoo_lab", "grpc", "k1", "error", "r1")
    assert (query.page_size, query.recent_only) == (100, True)


def test_a_page_token_gives_back_its_cursor() -> None:
    cursor = Cursor(datetime(2026, 11, 30, 11, 59, 1, 7, tzinfo=UTC), "req-é/1")
    query = usage_query(pb.UsageRequest(page_token=page_token(cursor)), NOW)
    assert query.before == cursor


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"window_seconds": 604801}, "window_seconds: must be 1 to 604800, got 604801"),
        ({"window_seconds": -5}, "window_seconds: must be 1 to 604800, got -5"),
        ({"window_seconds": 60, "bucket_seconds": 61}, "bucket_seconds: must be 1 to"),
        ({"window_seconds": 604800, "bucket_seconds": 60}, "bucket_seconds: 60 cuts 604800 s"),
        ({"page_size": 501}, "page_size: must be 1 to 500, got 501"),
        ({"door": "ftp"}, "door: must be one of grpc, http, mcp, got 'ftp'"),
        ({"outcome": "fine"}, "outcome: must be one of ok, error, got 'fine'"),
        ({"target": "x" * 301}, "target: longer than 300 characters"),
        ({"page_token": "not-a-token"}, "page_token: not a next_page_token of an earlier answer"),
        ({"page_token": "WzEsMl0"}, "page_token: not a next_page_token"),  # [1,2]
    ],
)
def test_bad_requests_are_refused_naming_the_field(
    request_fields: dict[str, object], message: str
) -> None:
    with pytest.raises(CoordinatorError) as raised:
        usage_query(pb.UsageRequest(**request_fields), NOW)  # type: ignore[arg-type]
    assert raised.value.code is ErrorCode.INVALID_ARGUMENT
    assert raised.value.message.startswith(message)
    assert raised.value.field == message.split(":")[0]
