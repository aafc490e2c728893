"""The per-minute rollups of `migrations/005_usage_rollup.sql`, on the real PostgreSQL: what the
insert trigger adds batch after batch is what a rebuild from the rows gives, the backfill takes
in rows stored before the migration, and deletes, updates and truncates keep the rollups true."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from coordinator.usage import MIGRATIONS_DIR, PostgresSink, UsageEvent, apply_migrations
from coordinator.usage.events import event_row
from coordinator.usage.postgres_reader import PostgresReader
from coordinator.usage.postgres_sink import INSERT_BATCH
from coordinator.usage.window import report_from_events
from tests.support.usage_schema import migrated_schema
from tests.usage.conftest import DSN, make_event
from tests.usage.test_report_backings import QUERIES, same_source, varied_events

ROLLUPS = {
    "usage_minutes": "minute, target",
    "usage_minute_doors": "minute, target, door",
    "usage_minutes_by_key": "minute, target, door, outcome, api_key_id",
    "usage_choices": "period_start, target, door, outcome, api_key_id, rule, reason, "
    "tool_or_method",
}


async def rollups(db: asyncpg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: [tuple(r) for r in await db.fetch(f"SELECT * FROM {table} ORDER BY {key}")]
        for table, key in ROLLUPS.items()
    }


async def rebuild_of(db: asyncpg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """The rollups as the migration's backfill computes them from the stored rows (rolled back)."""
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(f"TRUNCATE {', '.join(ROLLUPS)}")
        await db.execute("SELECT usage_rollup_refresh(min(time), max(time)) FROM usage_events")
        return await rollups(db)
    finally:
        await transaction.rollback()


async def write(schema: str, *batches: list[UsageEvent]) -> None:
    sink = PostgresSink(DSN, schema=schema)
    try:
        for batch in batches:
            await sink.write(batch)
    finally:
        await sink.close()


async def assert_reports_match(schema: str, events: list[UsageEvent]) -> None:
    async with PostgresReader(DSN, schema=schema) as reader:
        for name, asked in QUERIES.items():
            expected = report_from_events(events, asked)
            assert same_source(await reader.report(asked)) == expected, name


@pytest.fixture
def events() -> list[UsageEvent]:
    return varied_events(300, seed=5)


async def test_batches_added_by_the_trigger_equal_a_rebuild(
    schema: str, db: asyncpg.Connection[Any], events: list[UsageEvent]
) -> None:
    # Batches of different sizes whose minutes overlap (upserts merge), one sent twice (the
    # duplicate rows are skipped by the insert, so the trigger must not count them again).
    batches = [events[:1], events[1:40], events[40:41], events[41:200], events[200:]]
    await write(schema, *batches, events[41:200])

    assert sum(r[2] for r in (await rollups(db))["usage_minutes"]) == len(events)
    assert await rollups(db) == await rebuild_of(db)
    await assert_reports_match(schema, events)


async def test_deleting_and_updating_rows_recomputes_their_minutes(
    schema: str, db: asyncpg.Connection[Any], events: list[UsageEvent]
) -> None:
    await write(schema, events)
    oldest = sorted(events, key=lambda e: e.time)[:100]
    await db.execute(
        "DELETE FROM usage_events WHERE request_id = ANY($1::text[])",
        [e.request_id for e in oldest],
    )
    kept = [e for e in events if e not in oldest]
    assert await rollups(db) == await rebuild_of(db)
    await assert_reports_match(schema, kept)

    await db.execute("UPDATE usage_events SET latency_ms = latency_ms * 2 WHERE door = 'grpc'")
    assert await rollups(db) == await rebuild_of(db)

    await db.execute("TRUNCATE usage_events")
    assert await rollups(db) == {table: [] for table in ROLLUPS}


@pytest.fixture
async def before_rollup(tmp_path: Path) -> AsyncIterator[str]:
    """A schema with every migration but the rollups' (005): the rows the sink writes today,
    stored before the rollups existed."""
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if not path.name.startswith("005"):
            shutil.copy(path, earlier)
    async with migrated_schema("usage_test_backfill", earlier) as name:
        yield name


async def test_the_migration_backfills_rows_stored_before_it_and_runs_again_harmlessly(
    before_rollup: str, events: list[UsageEvent]
) -> None:
    await write(before_rollup, events[:250])
    assert await apply_migrations(DSN, schema=before_rollup) == ["005_usage_rollup.sql"]
    await write(before_rollup, events[250:])
    await assert_reports_match(before_rollup, events)

    db: asyncpg.Connection[Any] = await asyncpg.connect(
        DSN, server_settings={"search_path": before_rollup}
    )
    try:
        kept = await rollups(db)
        # By hand, as in the Supabase SQL editor: the rebuild gives the same rollups again.
        await db.execute((MIGRATIONS_DIR / "005_usage_rollup.sql").read_text())
        assert await rollups(db) == kept
        assert sum(r[2] for r in kept["usage_minutes"]) == len(events)
    finally:
        await db.close()


async def test_a_retention_delete_racing_a_writer_counts_each_row_once(
    schema: str, db: asyncpg.Connection[Any]
) -> None:
    """A writer's transaction adds to a minute's rollup row and creates another's; a delete of
    an old row in the same 10 minutes recomputes them meanwhile. Each row counts once, however
    the two interleave (before the refresh waited for writers, the new minute counted twice)."""
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    old, existing = make_event(1, time=start), make_event(2, time=start + timedelta(minutes=1))
    await write(schema, [old, existing])
    writer: asyncpg.Connection[Any] = await asyncpg.connect(
        DSN, server_settings={"search_path": schema}
    )
    try:
        transaction = writer.transaction()
        await transaction.start()
        # One statement: adds to the existing minute's row, creates the row of a new minute.
        added = [
            make_event(3, time=start + timedelta(minutes=1, seconds=5)),
            make_event(4, time=start + timedelta(minutes=2)),
        ]
        await writer.execute(INSERT_BATCH, json.dumps([event_row(e) for e in added]))
        retention = asyncio.create_task(
            db.execute("DELETE FROM usage_events WHERE request_id = $1", old.request_id)
        )
        for _ in range(500):  # until the delete waits for the writer
            waiting = await writer.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if waiting:
                break
            await asyncio.sleep(0.01)
        assert waiting
        await transaction.commit()
        await asyncio.wait_for(retention, 10)
    finally:
        await writer.close()
    minutes = (await rollups(db))["usage_minutes"]
    assert sum(row[2] for row in minutes) == 3
    assert await rollups(db) == await rebuild_of(db)
