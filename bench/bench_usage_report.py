"""The Usage RPC over 1,000,000 rows of `usage_events` in PostgreSQL.

    .venv/bin/python bench/bench_usage_report.py [--rows 1000000] [--runs 15] [--spread-hours 24]

Fills a schema of its own (`bench_usage_report`, dropped first) with `--rows` rows made by SQL
`generate_series`, spread evenly over the last `--spread-hours` hours (24: every row falls in the
24-hour window, the worst case), then times, interleaved round by round through the real
`PostgresReader` and the protobuf conversion (what the handler does, minus the door):
- the whole answer for 24 hours in 1-minute buckets (series, totals, doors, breakdown, a page of
  50 recent decisions), its four SQL functions running side by side on the reader's pool;
- each of those functions alone;
- the latest 100 decisions (`recent_only`), and the next page after them.
- for comparison, the same 24-hour answer from the in-process window (10,000 events, what the
  coordinator keeps without a database), computed in the calling thread.
Budgets: 200 ms p50 for the 24-hour answer, 20 ms p50 for the latest 100 decisions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from coordinator import convert
from coordinator.usage import UsageAttempt, UsageEvent, apply_migrations
from coordinator.usage.postgres_reader import PostgresReader
from coordinator.usage.report import UsageQuery
from coordinator.usage.sql_report import function_calls
from coordinator.usage.window import report_from_events

DSN = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_usage_report"

FILL = """
INSERT INTO usage_events (request_id, time, door, method, operation, tool_or_method, target, rule,
                          reason, confidence, outcome, status_code, latency_ms, cached, failover,
                          attempts, api_key_id)
SELECT 'bench-' || n,
       $2::timestamptz - (n * $3::double precision) * interval '1 microsecond',
       (ARRAY['grpc', 'http', 'mcp'])[1 + n % 3],
       CASE WHEN n % 10 = 0 THEN 'Aggregate' ELSE 'Route' END,
       (ARRAY['query', 'tool', 'method'])[1 + n % 3],
       (ARRAY['query', 'get_record', 'list_skills', 'tools/list'])[1 + n % 4],
       (ARRAY['odoo_prod', 'odoo_lab', 'odoo_qa'])[1 + (n / 7) % 3],
       (ARRAY['default', 'context:finance-ssc', 'context:migration', 'explicit'])[1 + n % 4],
       (ARRAY['Default target', 'Finance SSC needs production data', 'Migration uses the lab',
              'Explicit target'])[1 + n % 4],
       0.9,
       CASE WHEN n % 20 = 0 THEN 'error' ELSE 'ok' END,
       CASE WHEN n % 20 = 0 THEN 'UNAVAILABLE' ELSE 'OK' END,
       exp(random() * 5),
       n % 3 = 0,
       n % 25 = 0,
       CASE WHEN n % 25 = 0
            THEN '[{"target":"odoo_prod","outcome":"unavailable","latency_ms":1.5},
                   {"target":"odoo_lab","outcome":"ok","latency_ms":4.2}]'::jsonb
            ELSE '[{"target":"odoo_prod","outcome":"ok","latency_ms":3.1}]'::jsonb END,
       'key-' || (n % 5)
FROM generate_series(1, $1::integer) AS n
"""


async def fill(rows: int, spread_hours: float, now: datetime) -> None:
    connection: asyncpg.Connection[Any] = await asyncpg.connect(DSN)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    finally:
        await connection.close()
    await apply_migrations(DSN, schema=SCHEMA)
    connection = await asyncpg.connect(DSN, server_settings={"search_path": SCHEMA})
    try:
        step_us = spread_hours * 3600e6 / rows
        started = time.perf_counter()
        await connection.execute(FILL, rows, now - timedelta(seconds=1), step_us)
        await connection.execute("VACUUM ANALYZE usage_events")
        print(f"filled {rows:,} rows in {time.perf_counter() - started:.1f} s")
    finally:
        await connection.close()


def window_events(count: int, now: datetime) -> list[UsageEvent]:
    """`count` events spread over the last 24 hours, varied like the SQL rows."""
    return [
        UsageEvent(
            request_id=f"window-{n}",
            time=now - timedelta(seconds=1 + n * 86_000 / count),
            door=("grpc", "http", "mcp")[n % 3],
            method="Route",
            operation="query",
            tool_or_method=("query", "get_record", "list_skills", "tools/list")[n % 4],
            target=("odoo_prod", "odoo_lab", "odoo_qa")[(n // 7) % 3],
            rule="default",
            reason="Default target",
            confidence=0.9,
            outcome="error" if n % 20 == 0 else "ok",
            status_code="OK",
            latency_ms=1.0 + (n * 7919) % 1000 / 10,
            cached=n % 3 == 0,
            failover=n % 25 == 0,
            attempts=(UsageAttempt("odoo_prod", "ok", 3.1),),
            api_key_id=f"key-{n % 5}",
        )
        for n in range(count)
    ]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--spread-hours", type=float, default=24.0)
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = parser.parse_args()

    now = datetime.now(UTC)
    await fill(args.rows, args.spread_hours, now)
    import mcpcoordinator.v1.coordinator_pb2 as pb

    day = convert.usage_query(pb.UsageRequest(window_seconds=86400, bucket_seconds=60), now)
    latest = convert.usage_query(
        pb.UsageRequest(window_seconds=86400, recent_only=True, page_size=100), now
    )
    async with PostgresReader(DSN, schema=SCHEMA) as reader:
        first = await reader.report(latest)
        assert first.next_page is not None
        next_page = convert.usage_query(
            pb.UsageRequest(
                window_seconds=86400,
                recent_only=True,
                page_size=100,
                page_token=convert.page_token(first.next_page),
            ),
            now,
        )
        whole = await reader.report(day)
        assert whole.summary is not None
        print(
            f"24 h window: {whole.summary.requests:,} requests, {len(whole.series):,} series "
            f"points, {len(whole.totals):,} buckets"
        )

        async def answer(query: UsageQuery) -> None:
            convert.usage_response(await reader.report(query)).SerializeToString()

        events = window_events(10_000, now)

        async def in_window() -> None:
            convert.usage_response(report_from_events(events, day)).SerializeToString()

        pool = await reader._open()  # the reader's own pool: the parts alone, same connections

        async def call(function: str, arguments: dict[str, Any]) -> None:
            named = ", ".join(f"{k} => ${i}" for i, k in enumerate(arguments, 1))
            await pool.fetch(f"SELECT * FROM {function}({named})", *arguments.values())

        def alone(function: str, arguments: dict[str, Any]) -> Callable[[], Awaitable[None]]:
            return lambda: call(function, arguments)

        cases: dict[str, Callable[[], Awaitable[None]]] = {
            "24 h, 1-minute buckets: whole answer": lambda: answer(day),
            **{
                f"  {function} alone": alone(function, arguments)
                for function, arguments in function_calls(day).items()
            },
            "latest 100 decisions": lambda: answer(latest),
            "in-process window (10,000 events), 24 h, 1-minute buckets": in_window,
            "next 100 decisions (page token)": lambda: answer(next_page),
        }
        timings: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, run in cases.items():
                started = time.perf_counter()
                await run()
                timings[name].append((time.perf_counter() - started) * 1000)

    print(f"\n{args.rows:,} rows over {args.spread_hours:g} h, {args.runs} interleaved runs")
    print("| case | p50 ms | min ms | max ms |")
    print("|---|---|---|---|")
    for name, values in timings.items():
        print(
            f"| {name} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |"
        )
    if not args.keep:
        connection: asyncpg.Connection[Any] = await asyncpg.connect(DSN)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        finally:
            await connection.close()


if __name__ == "__main__":
    asyncio.run(main())
