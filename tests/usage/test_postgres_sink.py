"""The Postgres sink and the recorder writing to the real PostgreSQL, outages included.

Outages are real: the sink reaches PostgreSQL through a `TcpProxy` that the test breaks
(relayed connections closed, new ones closed on accept) and mends, or its server backend is
terminated with pg_terminate_backend.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from coordinator.usage import PostgresSink, UsageRecorder
from tests.usage.conftest import DSN, dsn_via, make_event, stored_ids, upstream
from tests.usage.tcp_proxy import TcpProxy

WARNING_LOGS = "coordinator.usage"


async def wait_until(condition: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    async with TcpProxy(*upstream()) as relay:
        yield relay


def recorder_for(sink: PostgresSink, **options: Any) -> UsageRecorder:
    settings: dict[str, Any] = {
        "queue_size": 50,
        "batch_size": 10,
        "flush_interval": 0.01,
        "max_backoff": 0.02,
        "close_timeout": 2.0,
    }
    settings.update(options)
    return UsageRecorder(sink, **settings)


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == WARNING_LOGS and r.levelno >= logging.WARNING
    ]


async def test_sink_stores_every_field(schema: str, db: asyncpg.Connection[Any]) -> None:
    event = make_event(1, time=datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC))
    sink = PostgresSink(DSN, schema=schema)
    try:
        await sink.write([event])
    finally:
        await sink.close()

    record = await db.fetchrow("SELECT * FROM usage_events")
    assert record is not None
    row = dict(record)
    assert row.pop("attempts") == (
        '[{"error": "", "target": "odoo_prod", "outcome": "unavailable", "latency_ms": 3.25}, '
        '{"error": "", "target": "odoo_lab", "outcome": "ok", "latency_ms": 9.0}]'
    )
    assert str(row.pop("event_id")) == event.event_id
    assert row == {
        "request_id": "req-000001",
        "time": datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC),
        "door": "http",
        "method": "Route",
        "operation": "query",
        "tool_or_method": "ask",
        "target": "odoo_lab",
        "rule": "context:migration",
        "reason": "Migration work uses the testing environment",
        "confidence": 0.9,
        "outcome": "ok",
        "status_code": "OK",
        "latency_ms": 12.5,
        "cached": False,
        "failover": True,
        "api_key_id": "0123456789abcdef",
        "error": None,
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    }


async def test_a_callers_request_id_used_twice_is_stored_twice(
    schema: str, db: asyncpg.Connection[Any]
) -> None:
    """The caller's id is theirs to reuse; it must not suppress a row (the event id is the key)."""
    sink = PostgresSink(DSN, schema=schema)
    try:
        await sink.write([make_event(1)])
        await sink.write([make_event(1, target="odoo_prod")])
    finally:
        await sink.close()

    targets = sorted(r["target"] for r in await db.fetch("SELECT target FROM usage_events"))
    assert targets == ["odoo_lab", "odoo_prod"]


async def test_one_refused_row_is_dropped_and_the_rest_of_its_batch_written(
    schema: str, db: asyncpg.Connection[Any]
) -> None:
    await db.execute("ALTER TABLE usage_events ADD CONSTRAINT no_bad CHECK (target <> 'odoo_bad')")
    recorder = recorder_for(PostgresSink(DSN, schema=schema), batch_size=10)
    async with recorder:
        for n in range(5):
            recorder.record(make_event(n, target="odoo_bad" if n == 2 else "odoo_lab"))
        assert await recorder.flush()
        stats = recorder.stats()

    assert sorted(await stored_ids(db)) == [f"req-{n:06d}" for n in (0, 1, 3, 4)]
    assert (stats.state, stats.written, stats.dropped) == ("up", 4, 1)


async def test_writing_a_batch_again_keeps_one_row_per_request(
    schema: str, db: asyncpg.Connection[Any]
) -> None:
    batch = [make_event(n) for n in range(5)]
    sink = PostgresSink(DSN, schema=schema)
    try:
        await sink.write(batch)
        await sink.write([*batch, make_event(5)])  # a retry after a lost acknowledgement
    finally:
        await sink.close()

    assert sorted(await stored_ids(db)) == [f"req-{n:06d}" for n in range(6)]


async def test_recorder_writes_in_batches_and_keeps_recent_events(
    schema: str, db: asyncpg.Connection[Any]
) -> None:
    recorder = recorder_for(PostgresSink(DSN, schema=schema))
    async with recorder:
        for n in range(35):
            recorder.record(make_event(n))
        assert await recorder.flush()
        stats = recorder.stats()
        recent = recorder.recent(limit=3)

    assert len(await stored_ids(db)) == 35
    assert (stats.sink, stats.state, stats.queued, stats.written, stats.dropped) == (
        "postgres",
        "up",
        0,
        35,
        0,
    )
    assert [e.request_id for e in recent] == ["req-000034", "req-000033", "req-000032"]


async def test_outage_bounds_the_queue_counts_drops_logs_once_and_recovers_without_duplicates(
    schema: str,
    db: asyncpg.Connection[Any],
    proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=WARNING_LOGS)
    recorder = recorder_for(PostgresSink(dsn_via(proxy.port), schema=schema))
    async with recorder:
        for n in range(20):
            recorder.record(make_event(n))
        assert await recorder.flush()

        proxy.refuse()
        for n in range(20, 30):
            recorder.record(make_event(n))
        await wait_until(lambda: recorder.stats().state == "down")
        for n in range(30, 100):
            recorder.record(make_event(n))
        during = recorder.stats()
        await wait_until(lambda: proxy.refused >= 3)  # the writer keeps retrying...
        [warning] = warnings_in(caplog)  # ...but says so once
        assert warning.startswith("usage sink postgres down: ")
        assert "PostgreSQL" in warning
        assert warning.endswith("events queue up to 50, then are dropped and counted")

        proxy.restore()
        assert await recorder.flush()
        after = recorder.stats()

    assert (during.state, during.queued, during.dropped) == ("down", 50, 30)
    assert during.last_error is not None
    assert "PostgreSQL" in during.last_error
    assert (after.state, after.queued, after.written, after.dropped) == ("up", 0, 70, 30)
    ids = await stored_ids(db)
    assert len(ids) == len(set(ids)) == 70
    assert set(ids) == {f"req-{n:06d}" for n in range(70)}
    recovered = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("recovered" in m and "30 events dropped" in m for m in recovered)
    assert len(warnings_in(caplog)) == 1


async def test_terminated_connection_mid_run_is_replaced_without_losing_events(
    schema: str, db: asyncpg.Connection[Any]
) -> None:
    # A name of its own: only this test's connection is terminated, not another test run's.
    application_name = f"usage-test-{schema}"
    sink = PostgresSink(DSN, schema=schema, application_name=application_name)
    recorder = recorder_for(sink, queue_size=1_000)
    async with recorder:
        for n in range(25):
            recorder.record(make_event(n))
        assert await recorder.flush()

        terminated = await db.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database() "
            "AND pid <> pg_backend_pid()",
            application_name,
        )
        for n in range(25, 60):
            recorder.record(make_event(n))
        assert await recorder.flush()
        stats = recorder.stats()

    assert terminated >= 1
    assert (stats.state, stats.written, stats.dropped) == ("up", 60, 0)
    ids = await stored_ids(db)
    assert len(ids) == len(set(ids)) == 60


async def test_exit_flushes_what_is_queued(schema: str, db: asyncpg.Connection[Any]) -> None:
    # A long interval and a big batch: only the exit can have written these.
    recorder = recorder_for(PostgresSink(DSN, schema=schema), flush_interval=60, batch_size=500)
    async with recorder:
        for n in range(30):
            recorder.record(make_event(n))
        assert recorder.stats().queued == 30

    assert len(await stored_ids(db)) == 30
    assert recorder.stats().written == 30


async def test_exit_with_the_sink_down_gives_up_in_bounded_time_and_counts_the_loss(
    schema: str, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = recorder_for(PostgresSink(dsn_via(proxy.port), schema=schema), close_timeout=0.2)
    # The guard only stops a hang from stalling the suite; close_timeout bounds the exit.
    async with asyncio.timeout(30):
        async with recorder:
            proxy.refuse()
            for n in range(12):
                recorder.record(make_event(n))

    assert recorder.stats().dropped == 12
    assert recorder.stats().queued == 0
    assert any("12 events not written at shutdown" in m for m in warnings_in(caplog))


async def test_unreachable_database_at_start_does_not_stop_start_up(
    schema: str, proxy: TcpProxy
) -> None:
    proxy.refuse()
    recorder = recorder_for(PostgresSink(dsn_via(proxy.port), schema=schema), close_timeout=0.1)
    async with recorder:
        stats = recorder.stats()
        recorder.record(make_event(1))
        assert [e.request_id for e in recorder.recent()] == ["req-000001"]

    assert stats.state == "down"
    assert stats.last_error is not None
    assert stats.last_error.startswith("cannot connect to PostgreSQL")


async def test_rows_the_database_refuses_are_dropped_not_retried_forever(
    schema: str, db: asyncpg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    # An operator's own constraint that this request breaks: no retry can ever store it.
    await db.execute("ALTER TABLE usage_events ADD CONSTRAINT no_lab CHECK (target <> 'odoo_bad')")
    recorder = recorder_for(PostgresSink(DSN, schema=schema), batch_size=1)
    async with recorder:
        recorder.record(make_event(1))
        recorder.record(make_event(2, target="odoo_bad"))
        recorder.record(make_event(3))
        assert await recorder.flush()
        stats = recorder.stats()

    assert sorted(await stored_ids(db)) == ["req-000001", "req-000003"]
    assert (stats.state, stats.written, stats.dropped) == ("up", 2, 1)
    assert stats.last_error is not None
    assert "no_lab" in stats.last_error
