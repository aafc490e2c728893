"""The Usage report from the in-process window and from SQL (PostgreSQL over asyncpg, and
Supabase through the official client against FakePostgrest, a named FAKE of PostgREST backed by
the REAL PostgreSQL) is the same answer, to the last bit of every percentile, for the same
events: SQL reads the per-minute rollups where it can and the rows elsewhere."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from coordinator.usage import PostgresSink, UsageAttempt, UsageEvent
from coordinator.usage.postgres_reader import PostgresReader
from coordinator.usage.report import UsageFilter, UsageQuery, UsageReader, UsageReport
from coordinator.usage.sql_report import as_json_arguments, series_arguments
from coordinator.usage.supabase_reader import SupabaseReader
from coordinator.usage.window import report_from_events
from tests.usage.conftest import DSN
from tests.usage.fake_postgrest import FakePostgrest

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def varied_events(
    count: int, seed: int = 13, span: timedelta = timedelta(hours=3)
) -> list[UsageEvent]:
    """Events over the last `span` (three hours), every field varied, some sharing one instant."""
    chance = random.Random(seed)
    events = []
    shared_instant = NOW - timedelta(minutes=7, microseconds=123)
    for n in range(count):
        when = (
            shared_instant
            if n % 25 == 0
            else NOW - timedelta(microseconds=chance.randrange(span // timedelta(microseconds=1)))
        )
        target = chance.choice(["odoo_prod", "odoo_lab", "odoo_lab", ""])
        failover = target != "" and chance.random() < 0.2
        attempts = (
            (UsageAttempt("odoo_prod", "unavailable", chance.uniform(0, 5)),) if failover else ()
        ) + ((UsageAttempt(target, "ok", chance.uniform(1, 90)),) if target else ())
        rule = chance.choice([None, "default", "context:migration", "context:finance-ssc"])
        events.append(
            UsageEvent(
                request_id=f"r{chance.randrange(10**9):09d}-{n}",
                time=when,
                door=chance.choice(["grpc", "http", "mcp"]),
                method=chance.choice(["Route", "Aggregate"]),
                operation=chance.choice(["query", "tool", "method"]),
                tool_or_method=chance.choice(["ask", "get_record", "tools/list"]),
                target=target,
                rule=rule,
                reason=None if rule is None else f"because {rule}",
                confidence=None if rule is None else chance.choice([0.5, 0.9, 1.0]),
                outcome="ok" if chance.random() < 0.8 else "error",
                status_code=chance.choice(["OK", "UNAVAILABLE"]),
                latency_ms=chance.lognormvariate(3, 1),
                cached=chance.random() < 0.3,
                failover=failover,
                attempts=attempts,
                api_key_id=chance.choice([None, "key-ops", "key-finance"]),
            )
        )
    return events


@pytest.fixture
async def stored(schema: str) -> list[UsageEvent]:
    """The events, written to the test's schema by the real Postgres sink."""
    events = varied_events(400)
    sink = PostgresSink(DSN, schema=schema)
    try:
        await sink.write(events)
    finally:
        await sink.close()
    return events


@pytest.fixture
async def postgres(schema: str) -> AsyncIterator[PostgresReader]:
    async with PostgresReader(DSN, schema=schema) as reader:
        yield reader


@pytest.fixture
async def supabase(schema: str) -> AsyncIterator[SupabaseReader]:
    async with (
        FakePostgrest(DSN, schema) as fake,
        SupabaseReader(fake.url, "service-role-key-for-tests", schema=schema) as reader,
    ):
        yield reader


def query(**changes: object) -> UsageQuery:
    base = UsageQuery(
        start=NOW - timedelta(hours=3), end=NOW + timedelta(minutes=1), bucket_seconds=300
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


QUERIES = {
    "everything, 5-minute buckets": query(),
    "1-minute buckets, last hour": query(start=NOW - timedelta(hours=1), bucket_seconds=60),
    "one target": query(filter=UsageFilter(target="odoo_lab")),
    "one door and outcome": query(filter=UsageFilter(door="grpc", outcome="error")),
    "one key id": query(filter=UsageFilter(key_id="key-ops")),
    "recent only, small page": query(recent_only=True, page_size=5),
    "nothing in the window": query(filter=UsageFilter(request_id="no-such-request")),
    # Whole minutes from the rollups, the odd seconds at both ends from the rows.
    "window of odd edges": query(
        start=NOW - timedelta(hours=2, seconds=17, microseconds=5),
        end=NOW + timedelta(seconds=43),
        bucket_seconds=60,
    ),
    "30-second buckets, from the rows": query(start=NOW - timedelta(hours=1), bucket_seconds=30),
    "one request id, from the rows": query(
        filter=UsageFilter(request_id=varied_events(400)[3].request_id)
    ),
    "errors of one key": query(filter=UsageFilter(key_id="key-finance", outcome="error")),
}


def same_source(report: UsageReport) -> UsageReport:
    return dataclasses.replace(report, source="memory")


@pytest.mark.parametrize("name", QUERIES)
async def test_sql_answers_as_the_in_process_window(
    name: str, stored: list[UsageEvent], postgres: PostgresReader, supabase: SupabaseReader
) -> None:
    asked = QUERIES[name]
    expected = report_from_events(stored, asked)
    assert bool(expected.recent) is (name != "nothing in the window")
    from_postgres = await postgres.report(asked)
    from_supabase = await supabase.report(asked)
    assert (from_postgres.source, from_supabase.source) == ("postgres", "supabase")
    assert same_source(from_postgres) == expected
    assert same_source(from_supabase) == expected


async def test_the_window_counts_what_was_recorded(stored: list[UsageEvent]) -> None:
    report = report_from_events(stored, query())
    assert report.summary is not None
    assert report.summary.requests == len(stored)
    assert sum(c.requests for c in report.series) == len(stored)
    assert sum(c.requests for c in report.totals) == len(stored)
    assert sum(d.requests for d in report.doors) == len(stored)
    assert report.summary.errors == sum(e.outcome != "ok" for e in stored)
    assert report.summary.failovers == sum(e.failover for e in stored)
    assert report.summary.cached == sum(e.cached for e in stored)
    ordered = sorted(e.latency_ms for e in stored)
    assert ordered[0] <= report.summary.latency_p50_ms <= report.summary.latency_p99_ms
    assert report.summary.latency_p99_ms <= ordered[-1]
    assert {c.start_us % 300_000_000 for c in report.series} == {0}


@pytest.mark.parametrize("reader_name", ["memory", "postgres", "supabase"])
async def test_pages_of_recent_cover_every_event_once_newest_first(
    reader_name: str,
    stored: list[UsageEvent],
    postgres: PostgresReader,
    supabase: SupabaseReader,
) -> None:
    readers: dict[str, UsageReader | None] = {
        "memory": None,
        "postgres": postgres,
        "supabase": supabase,
    }
    reader = readers[reader_name]
    seen: list[tuple[datetime, str]] = []
    asked = query(recent_only=True, page_size=37)
    while True:
        report = report_from_events(stored, asked) if reader is None else await reader.report(asked)
        seen.extend((d.time, d.request_id) for d in report.recent)
        if report.next_page is None:
            break
        asked = dataclasses.replace(asked, before=report.next_page)
    expected = sorted(((e.time, e.request_id) for e in stored), reverse=True)
    assert seen == expected


@pytest.mark.slow
async def test_a_day_in_minutes_through_supabase_is_not_cut_at_postgrests_max_rows(
    schema: str,
) -> None:
    """PostgREST answers at most db-max-rows rows of a table function (1,000 on Supabase),
    silently; the Supabase reader's functions answer one value, which it cannot cut."""
    stored = varied_events(3000, seed=24, span=timedelta(hours=24))
    sink = PostgresSink(DSN, schema=schema)
    try:
        await sink.write(stored)
    finally:
        await sink.close()
    end = NOW + timedelta(minutes=1)
    asked = UsageQuery(start=end - timedelta(hours=24), end=end, bucket_seconds=60)
    expected = report_from_events(stored, asked)
    assert len(expected.series) + len(expected.totals) > 2000

    async with (
        FakePostgrest(DSN, schema, max_rows=1000) as fake,
        SupabaseReader(fake.url, "service-role-key-for-tests", schema=schema) as supabase,
        PostgresReader(DSN, schema=schema) as postgres,
    ):
        # The table function through PostgREST: cut at 1,000 rows.
        async with httpx.AsyncClient(base_url=fake.url, timeout=30) as client:
            table = await client.post(
                "/rest/v1/rpc/usage_rollup_series",
                json=as_json_arguments(series_arguments(asked)),
                headers={"Content-Profile": schema},
            )
        assert len(table.json()) == 1000
        from_supabase = await supabase.report(asked)
        from_postgres = await postgres.report(asked)
    assert same_source(from_supabase) == expected
    assert same_source(from_postgres) == expected
