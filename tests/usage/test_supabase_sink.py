"""The Supabase sink, through the official client, against FakePostgrest (a named FAKE of
PostgREST, which cannot run here) that stores what it receives in the REAL PostgreSQL table."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from coordinator.usage import UsageRecorder, UsageSinkError, event_row
from coordinator.usage.events import USAGE_COLUMNS
from coordinator.usage.supabase_sink import SupabaseSink
from tests.usage.conftest import DSN, make_event, stored_ids
from tests.usage.fake_postgrest import Failure, FakePostgrest

SERVICE_ROLE_KEY = "service-role-key-for-tests"


@pytest.fixture
async def postgrest(schema: str) -> AsyncIterator[FakePostgrest]:
    async with FakePostgrest(DSN, schema) as fake:
        yield fake


def sink_for(postgrest: FakePostgrest) -> SupabaseSink:
    return SupabaseSink(postgrest.url, SERVICE_ROLE_KEY, schema=postgrest.schema, timeout=5)


async def test_batch_follows_the_postgrest_upsert_contract(
    postgrest: FakePostgrest, db: asyncpg.Connection[Any]
) -> None:
    events = [make_event(1, time=datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)), make_event(2)]
    sink = sink_for(postgrest)
    try:
        await sink.write(events)
    finally:
        await sink.close()

    [request] = postgrest.requests
    assert (request.method, request.path) == ("POST", "/rest/v1/usage_events")
    assert request.query["on_conflict"] == "event_id"
    assert sorted(request.query["columns"].split(",")) == sorted(f'"{c}"' for c in USAGE_COLUMNS)
    assert request.headers["apikey"] == SERVICE_ROLE_KEY
    assert request.headers["authorization"] == f"Bearer {SERVICE_ROLE_KEY}"
    assert set(request.headers["prefer"].split(",")) == {
        "return=minimal",
        "resolution=ignore-duplicates",
    }
    assert request.headers["content-type"] == "application/json"
    assert request.headers["content-profile"] == postgrest.schema
    assert request.body == json.loads(json.dumps([event_row(e) for e in events]))

    # The very rows sent went into the real table, every column typed as the migration says.
    record = await db.fetchrow("SELECT * FROM usage_events WHERE request_id = 'req-000001'")
    assert record is not None
    row = dict(record)
    assert row["time"] == datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert json.loads(row.pop("attempts")) == request.body[0]["attempts"]
    row["event_id"] = str(row["event_id"])
    expected = {k: v for k, v in request.body[0].items() if k not in ("time", "attempts")}
    assert {k: v for k, v in row.items() if k != "time"} == expected
    assert sorted(await stored_ids(db)) == ["req-000001", "req-000002"]


async def test_sending_a_batch_again_keeps_one_row_per_request(
    postgrest: FakePostgrest, db: asyncpg.Connection[Any]
) -> None:
    batch = [make_event(n) for n in range(4)]
    sink = sink_for(postgrest)
    try:
        await sink.write(batch)
        await sink.write([*batch, make_event(4)])
    finally:
        await sink.close()

    assert sorted(await stored_ids(db)) == [f"req-{n:06d}" for n in range(5)]


async def test_recorder_survives_a_supabase_outage_without_duplicates(
    postgrest: FakePostgrest, db: asyncpg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    recorder = UsageRecorder(
        sink_for(postgrest), queue_size=30, batch_size=10, flush_interval=0.01, max_backoff=0.02
    )
    async with recorder:
        for n in range(10):
            recorder.record(make_event(n))
        assert await recorder.flush()

        postgrest.failure = Failure(503, "PGRST000", "Could not connect with the database")
        for n in range(10, 20):
            recorder.record(make_event(n))
        assert not await recorder.flush(within=0.1)
        for n in range(20, 60):
            recorder.record(make_event(n))
        during = recorder.stats()

        postgrest.failure = None
        assert await recorder.flush()
        after = recorder.stats()

    assert (during.state, during.queued, during.dropped) == ("down", 30, 20)
    assert (
        during.last_error
        == "Supabase refused the rows: PGRST000 Could not connect with the database"
    )
    assert (after.state, after.written, after.dropped) == ("up", 40, 20)
    ids = await stored_ids(db)
    assert len(ids) == len(set(ids)) == 40
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert SERVICE_ROLE_KEY not in caplog.text


async def test_rows_postgrest_refuses_as_data_errors_are_dropped(
    postgrest: FakePostgrest, db: asyncpg.Connection[Any]
) -> None:
    recorder = UsageRecorder(sink_for(postgrest), batch_size=5, flush_interval=0.01)
    async with recorder:
        postgrest.failure = Failure(400, "22P02", "invalid input syntax for type json")
        recorder.record(make_event(1))
        assert await recorder.flush()
        postgrest.failure = None
        recorder.record(make_event(2))
        assert await recorder.flush()
        stats = recorder.stats()

    assert await stored_ids(db) == ["req-000002"]
    assert (stats.state, stats.written, stats.dropped) == ("up", 1, 1)


async def test_unreachable_supabase_is_a_retryable_sink_error() -> None:
    # A bound socket that never listens: connections are refused, and no one else gets the port.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        sink = SupabaseSink(f"http://127.0.0.1:{port}", SERVICE_ROLE_KEY, timeout=2)
        try:
            with pytest.raises(
                UsageSinkError, match="Supabase request failed: ConnectError"
            ) as info:
                await sink.write([make_event(1)])
        finally:
            await sink.close()

    assert info.value.retryable
    assert SERVICE_ROLE_KEY not in str(info.value)
