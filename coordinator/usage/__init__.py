"""Usage events: one per request, kept in memory and written to PostgreSQL or Supabase.

recorder = open_usage_recorder(database_url=..., supabase_url=..., supabase_key=...)
async with recorder:
    recorder.record(event)      # never blocks, never raises
    recorder.recent(100)        # newest first, always available
    recorder.stats()            # sink, state, queued, written, dropped, last_error
"""

from __future__ import annotations

from coordinator.config import ConfigError
from coordinator.usage.events import UsageAttempt, UsageEvent, event_row
from coordinator.usage.migrate import MIGRATIONS_DIR, MigrationError, apply_migrations
from coordinator.usage.postgres_sink import PostgresSink
from coordinator.usage.recorder import UsageRecorder, UsageStats
from coordinator.usage.sink import SinkName, UsageSink, UsageSinkError

__all__ = [
    "MIGRATIONS_DIR",
    "MigrationError",
    "PostgresSink",
    "SinkName",
    "UsageAttempt",
    "UsageEvent",
    "UsageRecorder",
    "UsageSink",
    "UsageSinkError",
    "UsageStats",
    "apply_migrations",
    "event_row",
    "open_usage_recorder",
]


def open_usage_recorder(
    *,
    database_url: str | None = None,
    supabase_url: str | None = None,
    supabase_key: str | None = None,
    schema: str | None = None,
    queue_size: int = 10_000,
    batch_size: int = 200,
    flush_interval: float = 0.5,
    ring_size: int = 1_000,
    close_timeout: float = 5.0,
) -> UsageRecorder:
    """A recorder writing to PostgreSQL when `database_url` is set, else to Supabase when
    `supabase_url` is set, else only to the in-process ring. Nothing connects until `async with`.

    `schema` (default: the server's search path, i.e. `public`) names where `usage_events` is.
    Raises `ConfigError` naming the setting when the choice cannot work.
    """
    sink: UsageSink | None = None
    if database_url:
        if not database_url.startswith(("postgres://", "postgresql://")):
            raise ConfigError("DATABASE_URL: must start with postgresql:// or postgres://")
        sink = PostgresSink(database_url, schema=schema)
    elif supabase_url:
        if not supabase_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"SUPABASE_URL: must start with http:// or https://, got {supabase_url!r}"
            )
        if not supabase_key:
            raise ConfigError("SUPABASE_SERVICE_ROLE_KEY: required when SUPABASE_URL is set")
        # Imported only when used: the supabase client pulls in auth, storage and realtime.
        from coordinator.usage.supabase_sink import SupabaseSink

        sink = SupabaseSink(supabase_url, supabase_key, schema=schema or "public")
    return UsageRecorder(
        sink,
        queue_size=queue_size,
        batch_size=batch_size,
        flush_interval=flush_interval,
        ring_size=ring_size,
        close_timeout=close_timeout,
    )
