"""A PostgreSQL schema of a test's own, with the usage migrations applied, dropped afterwards.

Tests of different checkouts (and their migrations) share one server; each writes only into a
schema it made. asyncpg passes `search_path` from a URL to the server, so a coordinator given
`dsn_in(schema)` as DATABASE_URL writes its usage rows there.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from coordinator.usage import MIGRATIONS_DIR, apply_migrations

SERVER_DSN = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def dsn_in(schema: str) -> str:
    """SERVER_DSN with `schema` as the search path."""
    return f"{SERVER_DSN}{'&' if '?' in SERVER_DSN else '?'}search_path={schema}"


def new_schema_name(prefix: str = "usage_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def drop_schema(name: str) -> None:
    connection = await asyncpg.connect(SERVER_DSN)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def migrated_schema(
    prefix: str = "usage_test", directory: Path = MIGRATIONS_DIR
) -> AsyncIterator[str]:
    """A new schema with the migrations of `directory` applied; its name."""
    name = new_schema_name(prefix)
    await apply_migrations(SERVER_DSN, schema=name, directory=directory)
    try:
        yield name
    finally:
        await drop_schema(name)
