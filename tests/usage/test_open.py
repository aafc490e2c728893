"""Choosing the sink from the settings, and the in-process ring."""

from __future__ import annotations

import pytest

from coordinator.config import ConfigError
from coordinator.usage import open_usage_recorder
from tests.usage.conftest import DSN, make_event


def test_database_url_wins_then_supabase_then_memory() -> None:
    both = open_usage_recorder(
        database_url=DSN, supabase_url="https://x.supabase.co", supabase_key="k"
    )
    supabase = open_usage_recorder(supabase_url="https://x.supabase.co", supabase_key="k")
    memory = open_usage_recorder()

    assert [r.stats().sink for r in (both, supabase, memory)] == ["postgres", "supabase", "memory"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"supabase_url": "https://x.supabase.co"}, "SUPABASE_SERVICE_ROLE_KEY: required"),
        ({"supabase_url": "x.supabase.co", "supabase_key": "k"}, "SUPABASE_URL: must start"),
        ({"database_url": "mysql://db/test"}, "DATABASE_URL: must start"),
    ],
)
def test_unusable_settings_are_named(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_usage_recorder(
            database_url=settings.get("database_url"),
            supabase_url=settings.get("supabase_url"),
            supabase_key=settings.get("supabase_key"),
        )


async def test_memory_recorder_keeps_a_bounded_ring_newest_first() -> None:
    recorder = open_usage_recorder(ring_size=5)
    async with recorder:
        for n in range(8):
            recorder.record(make_event(n))
        recent = recorder.recent(limit=100)
        stats = recorder.stats()

    assert [e.request_id for e in recent] == [f"req-{n:06d}" for n in (7, 6, 5, 4, 3)]
    assert [e.request_id for e in recorder.recent(limit=2)] == ["req-000007", "req-000006"]
    assert (stats.sink, stats.state, stats.queued, stats.written, stats.dropped) == (
        "memory",
        "up",
        0,
        8,
        0,
    )
