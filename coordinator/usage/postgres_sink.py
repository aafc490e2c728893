"""Usage events written straight to PostgreSQL (or Supabase's Postgres) with asyncpg."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import asyncpg

from coordinator.usage.events import USAGE_COLUMNS, UsageEvent, event_row
from coordinator.usage.sink import UsageSinkError

_COLUMN_LIST = ", ".join(f'"{c}"' for c in USAGE_COLUMNS)
# The whole batch is one JSON document, turned into rows of the table's own type by the server:
# one round trip, one atomic statement, and the very row format the Supabase sink sends.
INSERT_BATCH = (
    f"INSERT INTO usage_events ({_COLUMN_LIST}) "
    f"SELECT {_COLUMN_LIST} FROM jsonb_populate_recordset(NULL::usage_events, $1::jsonb) "
    "ON CONFLICT (event_id) DO NOTHING"
)

APPLICATION_NAME = "mcp-coordinator-usage"
DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
# What the rows themselves cause (classes 22, 23 and 54: bad data, a violated constraint, a value
# past a limit such as an index entry's size): sending them again cannot succeed.
_REFUSED_ROWS = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)


class PostgresSink:
    """One connection, opened lazily and replaced after any failure."""

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
        application_name: str = APPLICATION_NAME,
    ) -> None:
        self._dsn = dsn
        # The application name lets an operator find (or end) this connection in pg_stat_activity.
        self._server_settings = {"application_name": application_name}
        if schema:
            self._server_settings["search_path"] = schema
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._connection: asyncpg.Connection[Any] | None = None

    @property
    def name(self) -> Literal["postgres"]:
        return "postgres"

    async def open(self) -> None:
        if self._connection is not None and not self._connection.is_closed():
            return
        try:
            self._connection = await asyncpg.connect(
                self._dsn,
                timeout=self._connect_timeout,
                command_timeout=self._command_timeout,
                server_settings=self._server_settings,
            )
        except DB_ERRORS as exc:
            raise UsageSinkError(f"cannot connect to PostgreSQL: {_describe(exc)}") from exc

    async def write(self, events: Sequence[UsageEvent]) -> None:
        await self.open()
        assert self._connection is not None
        document = json.dumps([event_row(e) for e in events])
        try:
            await self._connection.execute(INSERT_BATCH, document)
        except _REFUSED_ROWS as exc:
            raise UsageSinkError(
                f"PostgreSQL refused the rows: {_describe(exc)}", retryable=False
            ) from exc
        except DB_ERRORS as exc:
            self._discard_connection()
            raise UsageSinkError(f"PostgreSQL write failed: {_describe(exc)}") from exc

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None or connection.is_closed():
            return
        try:
            await connection.close(timeout=2.0)
        except DB_ERRORS:
            connection.terminate()

    def _discard_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
