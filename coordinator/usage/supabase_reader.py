"""The Usage backing over Supabase: the report functions of `migrations/` (`sql_report`),
called through the official client's `rpc()` (PostgREST's `POST /rest/v1/rpc/<function>`)."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import httpx
from postgrest import APIError
from supabase import AsyncClient, SupabaseException

from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.usage.report import UsageQuery, UsageReport
from coordinator.usage.sink import SinkName
from coordinator.usage.sql_report import as_json_arguments, function_calls, report_from_rows
from coordinator.usage.supabase_sink import supabase_client


class SupabaseReader:
    """Owns the HTTP client the supabase client uses, as the Supabase sink does."""

    def __init__(
        self, url: str, service_role_key: str, *, schema: str = "public", timeout: float = 10.0
    ) -> None:
        self._url = url
        self._key = service_role_key
        self._schema = schema
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None
        self._client: AsyncClient | None = None

    @property
    def source(self) -> SinkName:
        return "supabase"

    async def __aenter__(self) -> SupabaseReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.aclose()

    def _open(self) -> AsyncClient:
        if self._client is None:
            http = httpx.AsyncClient(timeout=self._timeout)
            self._client = supabase_client(self._url, self._key, self._schema, http)
            self._http = http
        return self._client

    async def _call(self, function: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
        response = await self._open().rpc(function, as_json_arguments(arguments)).execute()
        rows = response.data
        if not isinstance(rows, list):
            raise CoordinatorError(
                ErrorCode.UNAVAILABLE, f"Supabase answered {function} with no rows list"
            )
        return rows

    async def report(self, query: UsageQuery) -> UsageReport:
        calls = function_calls(query)
        try:
            results = await asyncio.gather(
                *(self._call(function, arguments) for function, arguments in calls.items())
            )
        except APIError as exc:
            raise CoordinatorError(
                ErrorCode.UNAVAILABLE,
                f"Supabase refused the usage query: {exc.code or 'no code'} {exc.message or ''}",
            ) from exc
        except (httpx.HTTPError, SupabaseException) as exc:
            raise CoordinatorError(
                ErrorCode.UNAVAILABLE, f"Supabase unavailable: {type(exc).__name__}: {exc}"
            ) from exc
        return report_from_rows("supabase", query, dict(zip(calls, results, strict=True)))
