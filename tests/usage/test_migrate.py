"""The migration, applied to the real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from coordinator.usage import MIGRATIONS_DIR, apply_migrations
from coordinator.usage.events import USAGE_COLUMNS
from tests.usage.conftest import DSN


async def test_migration_creates_the_table_the_sinks_write(
    schema: str, db: asyncpg.Connection[Any]
) -> None:
    columns = await db.fetch(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = 'usage_events' ORDER BY ordinal_position",
        schema,
    )
    assert [c["column_name"] for c in columns] == list(USAGE_COLUMNS)
    types = {c["column_name"]: c["data_type"] for c in columns}
    assert types["time"] == "timestamp with time zone"
    assert types["attempts"] == "jsonb"
    assert types["latency_ms"] == "double precision"

    key = await db.fetchval(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = 'usage_events'::regclass AND i.indisprimary"
    )
    assert key == "request_id"
    indexes = {
        r["indexdef"]
        for r in await db.fetch("SELECT indexdef FROM pg_indexes WHERE schemaname = $1", schema)
    }
    assert any('("time")' in d for d in indexes)
    assert any("(target, " in d for d in indexes)


async def test_applying_again_changes_nothing(schema: str, db: asyncpg.Connection[Any]) -> None:
    await db.execute(
        "INSERT INTO usage_events (request_id, time, door, method, operation, outcome, "
        "status_code, latency_ms) VALUES ('kept', now(), 'http', 'Route', 'query', 'ok', 'OK', 1)"
    )

    assert await apply_migrations(DSN, schema=schema) == []

    assert await db.fetchval("SELECT count(*) FROM usage_events") == 1
    versions = [r["version"] for r in await db.fetch("SELECT version FROM schema_migrations")]
    assert versions == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))


async def test_first_application_reports_the_files_it_ran(db: asyncpg.Connection[Any]) -> None:
    fresh = f"usage_test_fresh_{uuid.uuid4().hex[:12]}"
    try:
        assert await apply_migrations(DSN, schema=fresh) == sorted(
            p.name for p in MIGRATIONS_DIR.glob("*.sql")
        )
    finally:
        await db.execute(f'DROP SCHEMA IF EXISTS "{fresh}" CASCADE')
