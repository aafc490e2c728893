"""Applies the SQL files of `migrations/` in name order, each once (see `schema_migrations`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

# The repository's migrations/ directory (the files are plain SQL, also usable by hand);
# an installed wheel carries a copy inside the package.
_PACKAGED = Path(__file__).resolve().parent / "migrations"
MIGRATIONS_DIR = (
    _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "migrations"
)

# Any fixed number: replicas starting together take turns instead of racing on CREATE TABLE.
_LOCK_KEY = 0x6D637063  # "mcpc"

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(Exception):
    """A migration could not be applied; the message names the file."""


async def apply_migrations(
    dsn: str, *, schema: str | None = None, directory: Path = MIGRATIONS_DIR
) -> list[str]:
    """Applies pending migrations; returns the names applied now (empty when up to date).

    `schema` is created if missing and becomes the search path, so the tables land there.
    """
    scripts = _read_scripts(directory)
    try:
        connection: asyncpg.Connection[Any] = await asyncpg.connect(dsn, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise MigrationError(f"cannot connect to PostgreSQL: {exc}") from exc
    applied: list[str] = []
    try:
        if schema:
            await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_identifier(schema)}")
            await connection.execute(f"SET search_path TO {_identifier(schema)}")
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await connection.execute(_CREATE_LEDGER)
            done = {
                r["version"]
                for r in await connection.fetch("SELECT version FROM schema_migrations")
            }
            for name, sql in scripts:
                if name in done:
                    continue
                try:
                    await connection.execute(sql)
                except asyncpg.PostgresError as exc:
                    raise MigrationError(f"{name}: {exc}") from exc
                await connection.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)", name
                )
                applied.append(name)
    finally:
        await connection.close()
    return applied


def _read_scripts(directory: Path) -> list[tuple[str, str]]:
    """(file name, SQL) in name order; a few small files, read before any connection opens."""
    scripts = [(path.name, path.read_text()) for path in sorted(directory.glob("*.sql"))]
    if not scripts:
        raise MigrationError(f"no migrations found in {directory}")
    return scripts


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
