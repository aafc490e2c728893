"""The Usage backing over Supabase: the report functions of `migrations/` (`sql_report`),
called through the official client's `rpc()` (PostgREST's `POST /rest/v1/rpc/<function>`).

All of them in one call of `usage_report_json` (migration 008), which answers their rows as one
JSON value: PostgREST cuts the rows of a table-returning function at db-max-rows (1,000 by
default on Supabase) without saying so, and one value cannot be cut."""

from __future__ import annotations

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

REPORT_FUNCTION = "usage_report_json"


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

    async def _call(self, arguments: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        request = self._open().rpc(REPORT_FUNCTION, as_json_arguments(arguments))
        answer = (await request.execute()).data
        if not isinstance(answer, dict) or not all(isinstance(v, list) for v in answer.values()):
            raise CoordinatorError(
                ErrorCode.UNAVAILABLE, f"Supabase answered {REPORT_FUNCTION} with no rows"
            )
        return answer

    async def report(self, query: UsageQuery) -> UsageReport:
        # One call answers for every report function, whose arguments it takes by their names.
        calls = function_calls(query)
        arguments = {name: value for each in calls.values() for name, value in each.items()}
        arguments["p_recent_only"] = query.recent_only
        try:
            rows = await self._call(arguments)
        except APIError as exc:
            if exc.code == "PGRST202":  # no such function: the migrations are not applied
                raise CoordinatorError(
                    ErrorCode.UNAVAILABLE,
                    "Supabase has no usage report functions: run `mcp-coordinator migrate "
                    f"--database-url <the project's Postgres URL>` ({exc.message or ''})",
                ) from exc
            raise CoordinatorError(
                ErrorCode.UNAVAILABLE,
                f"Supabase refused the usage query: {exc.code or 'no code'} {exc.message or ''}",
            ) from exc
        except (httpx.HTTPError, SupabaseException) as exc:
            raise CoordinatorError(
                ErrorCode.UNAVAILABLE, f"Supabase unavailable: {type(exc).__name__}: {exc}"
            ) from exc
        return report_from_rows("supabase", query, rows)
