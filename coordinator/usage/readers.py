"""Chooses the Usage backing the way `open_usage_recorder` chooses the sink."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from coordinator.usage.postgres_reader import PostgresReader
from coordinator.usage.recorder import UsageRecorder
from coordinator.usage.report import UsageReader
from coordinator.usage.window import WindowReader


@contextlib.asynccontextmanager
async def open_usage_reader(
    recorder: UsageRecorder,
    *,
    database_url: str | None = None,
    supabase_url: str | None = None,
    supabase_key: str | None = None,
    schema: str | None = None,
) -> AsyncIterator[UsageReader]:
    """SQL over `usage_events` where the recorder writes it; else the recorder's own window.

    The settings were validated when the recorder was opened with them.
    """
    if database_url:
        async with PostgresReader(database_url, schema=schema) as reader:
            yield reader
    elif supabase_url and supabase_key:
        from coordinator.usage.supabase_reader import SupabaseReader

        async with SupabaseReader(supabase_url, supabase_key, schema=schema or "public") as sb:
            yield sb
    else:
        yield WindowReader(recorder.window)
