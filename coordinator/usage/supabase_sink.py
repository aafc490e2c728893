"""Usage events written to Supabase through the official `supabase` client (PostgREST).

Each batch is `POST /rest/v1/usage_events?on_conflict=event_id` with
`Prefer: return=minimal,resolution=ignore-duplicates`: a row whose event id is already stored
is skipped, so sending a batch again after a failure never duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import httpx
from postgrest import APIError
from postgrest.types import ReturnMethod
from supabase import AsyncClient, AsyncClientOptions, SupabaseException

from coordinator.usage.events import UsageEvent, event_row
from coordinator.usage.sink import UsageSinkError

TABLE = "usage_events"


def supabase_client(url: str, key: str, schema: str, http: httpx.AsyncClient) -> AsyncClient:
    """The official client over our own httpx client (which the caller closes): it then
    neither creates one per sub-client nor takes the deprecated `timeout` argument."""
    options = AsyncClientOptions(
        schema=schema,
        auto_refresh_token=False,
        persist_session=False,
        postgrest_client_retry=False,
        httpx_client=http,
    )
    return AsyncClient(url, key, options)


class SupabaseSink:
    """Owns the HTTP client the supabase client uses, so closing it releases every connection."""

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
    def name(self) -> Literal["supabase"]:
        return "supabase"

    async def open(self) -> None:
        if self._client is not None:
            return
        http = httpx.AsyncClient(timeout=self._timeout)
        try:
            self._client = supabase_client(self._url, self._key, self._schema, http)
        except SupabaseException as exc:
            await http.aclose()
            raise UsageSinkError(
                f"cannot use SUPABASE_URL: {exc.message}", retryable=False
            ) from exc
        self._http = http

    async def write(self, events: Sequence[UsageEvent]) -> None:
        await self.open()
        assert self._client is not None
        rows = [event_row(e) for e in events]
        request = self._client.table(TABLE).upsert(
            rows,
            ignore_duplicates=True,
            on_conflict="event_id",
            returning=ReturnMethod.minimal,
        )
        try:
            await request.execute()
        except APIError as exc:
            # PostgreSQL classes 22, 23, 54 (bad data, constraint, limit): never storable.
            data_error = bool(exc.code and exc.code.startswith(("22", "23", "54")))
            raise UsageSinkError(
                f"Supabase refused the rows: {exc.code or 'no code'} {exc.message or ''}".strip(),
                retryable=not data_error,
            ) from exc
        except httpx.HTTPError as exc:
            raise UsageSinkError(f"Supabase request failed: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.aclose()
