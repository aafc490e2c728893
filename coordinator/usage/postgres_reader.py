"""The Usage backing over PostgreSQL: the SQL functions of `migrations/004_usage_report.sql`,
called over a small asyncpg pool of its own (the usage sink keeps its one connection)."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import asyncpg

from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.usage.report import UsageQuery, UsageReport, build_report
from coordinator.usage.sink import SinkName
from coordinator.usage.sql_report import (
    count_row,
    decision_row,
    filter_arguments,
    group_row,
    recent_arguments,
    series_arguments,
)

APPLICATION_NAME = "mcp-coordinator-usage-report"
_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


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
        pool_size: int = 3,
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
        try:
            recent = self._fetch("usage_recent", recent_arguments(query))
            if query.recent_only:
                return build_report(
                    "postgres", query, (), (), [decision_row(dict(r)) for r in await recent]
                )
            groups, counts, decisions = await asyncio.gather(
                self._fetch("usage_series", series_arguments(query)),
                self._fetch("usage_breakdown", filter_arguments(query)),
                recent,
            )
        except _DB_ERRORS as exc:
            raise CoordinatorError(
                ErrorCode.UNAVAILABLE, f"usage database unavailable: {type(exc).__name__}: {exc}"
            ) from exc
        return build_report(
            "postgres",
            query,
            [group_row(dict(r)) for r in groups],
            [count_row(dict(r)) for r in counts],
            [decision_row(dict(r)) for r in decisions],
        )
