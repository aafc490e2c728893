"""The Usage RPC over 1,000,000 rows of `usage_events` in PostgreSQL.

    .venv/bin/python bench/bench_usage_report.py [--rows 1000000] [--runs 15] [--spread-hours 24]

Fills a schema of its own (`bench_usage_report`, dropped first) with `--rows` rows made by SQL
`generate_series` in one INSERT (the insert trigger of migration 005 builds the per-minute
rollups as it goes), spread evenly over the last `--spread-hours` hours (24: every row falls in
the 24-hour window, the worst case), then times, interleaved round by round through the real
`PostgresReader` and the protobuf conversion (what the handler does, minus the door):
- the whole answer for 24 hours in 1-minute buckets (series, totals, doors, breakdown, a page of
  50 recent decisions), its four SQL functions running side by side on the reader's pool;
- each of those functions alone;
- before: the exact functions of migration 004 over the rows (what the answer cost before 005);
- the latest 100 decisions (`recent_only`), and the next page after them.
- for comparison, the same 24-hour answer from the in-process window (10,000 events, what the
  coordinator keeps without a database), computed in the calling thread.
Budgets: 200 ms p50 for the 24-hour answer, 20 ms p50 for the latest 100 decisions.

Then how far the histogram percentiles are from the exact ones (004's `percentile_cont`) for every
series point of that answer, and what the insert trigger costs a writer: batches of 100 events
through the real `PostgresSink`, alternating between a schema with the rollups (001-005) and one
without (001-004).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from coordinator import convert
from coordinator.usage import PostgresSink, UsageAttempt, UsageEvent, apply_migrations
from coordinator.usage.migrate import MIGRATIONS_DIR
from coordinator.usage.postgres_reader import PostgresReader
from coordinator.usage.report import Counts, UsageQuery
from coordinator.usage.sql_report import function_calls
from coordinator.usage.window import report_from_events

DSN = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_usage_report"
INSERT_SCHEMA = "bench_usage_insert_rollup"
PLAIN_SCHEMA = "bench_usage_insert_plain"

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
    await drop(SCHEMA)
    await apply_migrations(DSN, schema=SCHEMA)
    connection: asyncpg.Connection[Any] = await asyncpg.connect(
        DSN, server_settings={"search_path": SCHEMA}
    )
    try:
        step_us = spread_hours * 3600e6 / rows
        started = time.perf_counter()
        await connection.execute(FILL, rows, now - timedelta(seconds=1), step_us)
        await connection.execute("VACUUM ANALYZE usage_events")
        print(f"filled {rows:,} rows (rollups included) in {time.perf_counter() - started:.1f} s")
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


def exact_calls(query: UsageQuery) -> dict[str, dict[str, Any]]:
    """The functions of migration 004 that answered before the rollups (recent is unchanged)."""
    return {
        name.replace("usage_rollup_", "usage_"): arguments
        for name, arguments in function_calls(query).items()
    }


async def accuracy(pool: asyncpg.Pool[Any], series: Sequence[Counts], query: UsageQuery) -> str:
    """How far each series point's percentiles are from 004's exact percentile_cont."""
    arguments = exact_calls(query)["usage_series"]
    named = ", ".join(f"{k} => ${i}" for i, k in enumerate(arguments, 1))
    rows = await pool.fetch(
        f"SELECT bucket_us, target, latency_ms FROM usage_series({named}) WHERE level = 'target'",
        *arguments.values(),
    )
    exact = {(r["bucket_us"], r["target"]): r["latency_ms"] for r in rows}
    errors = sorted(
        abs(estimate - true) / true
        for point in series
        for estimate, true in zip(
            (point.latency_p50_ms, point.latency_p95_ms, point.latency_p99_ms),
            exact[point.start_us, point.target],
            strict=True,
        )
    )
    return (
        f"histogram percentiles against percentile_cont, {len(errors):,} values "
        f"(p50/p95/p99 of {len(series):,} series points): relative error median "
        f"{statistics.median(errors):.2%}, p99 {errors[int(len(errors) * 0.99)]:.2%}, "
        f"max {errors[-1]:.2%}"
    )


async def insert_cost(batches: int, now: datetime) -> None:
    """Median time to write a batch of 100 events, with and without the rollup trigger."""
    with tempfile.TemporaryDirectory() as scratch:
        before_rollups = Path(scratch)
        for path in MIGRATIONS_DIR.glob("*.sql"):
            if path.name < "005":
                shutil.copy(path, before_rollups)
        schemas = {"with the rollup trigger": INSERT_SCHEMA, "without (001-004)": PLAIN_SCHEMA}
        for schema in schemas.values():
            await drop(schema)
        await apply_migrations(DSN, schema=INSERT_SCHEMA)
        await apply_migrations(DSN, schema=PLAIN_SCHEMA, directory=before_rollups)
    sinks = {name: PostgresSink(DSN, schema=schema) for name, schema in schemas.items()}
    timings: dict[str, list[float]] = {name: [] for name in sinks}
    try:
        varied = window_events(100, now)
        for round_ in range(batches):
            # A live coordinator's batch: the requests of the last fraction of a second.
            sent = now + timedelta(seconds=round_ / 4)
            for name, sink in sinks.items():
                fresh = [
                    dataclasses.replace(
                        e, time=sent + timedelta(microseconds=n), event_id=str(uuid.uuid4())
                    )
                    for n, e in enumerate(varied)
                ]
                started = time.perf_counter()
                await sink.write(fresh)
                timings[name].append((time.perf_counter() - started) * 1000)
    finally:
        for sink in sinks.values():
            await sink.close()
        for schema in schemas.values():
            await drop(schema)
    print(f"\nwriting a batch of 100 events (PostgresSink), {batches} interleaved batches each")
    print("| insert | p50 ms | min ms | max ms |")
    print("|---|---|---|---|")
    for name, values in timings.items():
        print(
            f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |"
        )


async def drop(schema: str) -> None:
    connection: asyncpg.Connection[Any] = await asyncpg.connect(DSN)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--spread-hours", type=float, default=24.0)
    parser.add_argument("--insert-batches", type=int, default=200)
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

        async def before() -> None:
            await asyncio.gather(
                *(call(function, arguments) for function, arguments in exact_calls(day).items())
            )

        cases: dict[str, Callable[[], Awaitable[None]]] = {
            "24 h, 1-minute buckets: whole answer": lambda: answer(day),
            **{
                f"  {function} alone": alone(function, arguments)
                for function, arguments in function_calls(day).items()
            },
            "before: 004's exact functions over the rows, side by side": before,
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

        print(await accuracy(pool, whole.series, day))

    print(f"\n{args.rows:,} rows over {args.spread_hours:g} h, {args.runs} interleaved runs")
    print("| case | p50 ms | min ms | max ms |")
    print("|---|---|---|---|")
    for name, values in timings.items():
        print(
            f"| {name} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |"
        )
    await insert_cost(args.insert_batches, now)
    if not args.keep:
        await drop(SCHEMA)


if __name__ == "__main__":
    asyncio.run(main())
