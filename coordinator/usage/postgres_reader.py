"""The Usage backing over PostgreSQL: the report functions of `migrations/` (`sql_report`),
called over a small asyncpg pool of its own (the usage sink keeps its one connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Any, cast

import asyncpg

from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.usage.postgres_sink import DB_ERRORS
from coordinator.usage.report import UsageQuery, UsageReport
from coordinator.usage.sink import SinkName
from coordinator.usage.sql_report import Row, function_calls, report_from_rows

APPLICATION_NAME = "mcp-coordinator-usage-report"


def _call(function: str, arguments: dict[str, Any]) -> tuple[str, list[Any]]:
    named = ", ".join(f"{name} => ${i}" for i, name in enumerate(arguments, start=1))
    return f"SELECT * FROM {function}({named})", list(arguments.values())


class PostgresReader:
    """Opens its pool on first use and again after the database came back."""

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        pool_size: int = 4,
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._server_settings = {"application_name": APPLICATION_NAME}
        if schema:
            self._server_settings["search_path"] = schema
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool[Any] | None = None
        self._opening = asyncio.Lock()

    @property
    def source(self) -> SinkName:
        return "postgres"

    async def __aenter__(self) -> PostgresReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _open(self) -> asyncpg.Pool[Any]:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._pool_size,
                    timeout=self._connect_timeout,
                    command_timeout=self._command_timeout,
                    server_settings=self._server_settings,
                )
            return self._pool

    async def _fetch(self, function: str, arguments: dict[str, Any]) -> list[asyncpg.Record]:
        sql, values = _call(function, arguments)
        pool = await self._open()
        return await pool.fetch(sql, *values)

    async def report(self, query: UsageQuery) -> UsageReport:
        calls = function_calls(query)
        try:
            # Each function on a connection of its own: PostgreSQL runs them side by side.
            results = await asyncio.gather(
                *(self._fetch(function, arguments) for function, arguments in calls.items())
            )
        except DB_ERRORS as exc:
            raise CoordinatorError(
                ErrorCode.UNAVAILABLE, f"usage database unavailable: {type(exc).__name__}: {exc}"
            ) from exc
        # Records are read by column name as they are: thousands of rows, no copies.
        rows = cast(dict[str, Sequence[Row]], dict(zip(calls, results, strict=True)))
        return report_from_rows("postgres", query, rows)
