"""Cost of usage recording on the request path.

    taskset -c 1 .venv/bin/python bench/bench_usage.py [--calls 20000]

Measures, per request, with the writer task running on the same event loop:
- `record()` alone, with a healthy PostgreSQL sink (DATABASE_URL, default local `test`),
  with the sink down while the queue fills, and with the queue full (dropping);
- building the event (`UsageEvent`) plus `record()`: what the core adds;
- `Metrics.observe_request` and `log_decision` (JSON, stream discarded), for comparison;
  logging paced like the healthy-sink row (about 25,000 lines/s) so the thread keeps up.
Each call is timed alone with perf_counter_ns (timer overhead included, so numbers are upper
bounds). Requests are interleaved with `await asyncio.sleep(0)` every 50 calls so the writer runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import logging
import os
import socket
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import uvloop

from coordinator.logs import configure_logging, log_decision
from coordinator.metrics import Metrics
from coordinator.usage import (
    PostgresSink,
    UsageAttempt,
    UsageEvent,
    UsageRecorder,
    apply_migrations,
)

DSN = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
LIMIT_MS = 0.05


def make_event(n: int) -> UsageEvent:
    return UsageEvent(
        request_id=f"bench-{n}",
        door="http",
        method="Route",
        operation="query",
        tool_or_method="ask",
        target="odoo_lab",
        rule="context:migration",
        reason="Migration work uses the testing environment",
        confidence=0.9,
        outcome="ok",
        status_code="OK",
        latency_ms=1.25,
        failover=True,
        attempts=(
            UsageAttempt("odoo_prod", "unavailable", 0.5),
            UsageAttempt("odoo_lab", "ok", 0.7),
        ),
        api_key_id="bench",
    )


async def time_calls(call: Callable[[int], None], calls: int, pause: float = 0.0) -> list[float]:
    """Microseconds per call; every 50 calls the loop runs other tasks for `pause` seconds."""
    samples: list[float] = []
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for n in range(calls):
            started = clock()
            call(n)
            samples.append((clock() - started) / 1000)
            if n % 50 == 49:
                await asyncio.sleep(pause)
    finally:
        gc.enable()
    return samples


def summary(name: str, samples: list[float]) -> tuple[str, float, float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return name, p50, p99, statistics.fmean(ordered)


class _Discard(io.StringIO):
    """A stream that formats nothing away: only the formatting is measured."""

    def write(self, text: str) -> int:
        return len(text)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def main(calls: int) -> None:
    logging.getLogger("coordinator.usage").disabled = True  # expected outage warnings
    schema = f"bench_usage_{uuid.uuid4().hex[:8]}"
    await apply_migrations(DSN, schema=schema)
    rows: list[tuple[str, float, float, float]] = []
    events = [make_event(n) for n in range(calls)]
    try:
        healthy = UsageRecorder(PostgresSink(DSN, schema=schema), queue_size=10_000)
        async with healthy:
            # About 25,000 requests/s: a busy replica, which the sink keeps up with.
            rows.append(
                summary(
                    "record(), PostgreSQL sink up",
                    await time_calls(lambda n: healthy.record(events[n]), calls, pause=0.002),
                )
            )
            await healthy.flush(30)
            written = healthy.stats()

        burst = UsageRecorder(PostgresSink(DSN, schema=schema), queue_size=calls, flush_interval=60)
        async with burst:
            for n in range(calls):
                burst.record(make_event(calls + n))
            started, cpu_started = time.perf_counter(), time.process_time()
            await burst.flush(60)
            throughput = burst.stats().written / (time.perf_counter() - started)
            writer_cpu_us = (time.process_time() - cpu_started) / burst.stats().written * 1e6

        dead_dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
        down = UsageRecorder(
            PostgresSink(dead_dsn, schema=schema), queue_size=calls, close_timeout=0.1
        )
        async with down:
            rows.append(
                summary(
                    "record(), sink down, queue filling",
                    await time_calls(lambda n: down.record(events[n]), calls),
                )
            )
            rows.append(
                summary(
                    "record(), sink down, queue full (drop)",
                    await time_calls(lambda n: down.record(events[n]), calls),
                )
            )
            dropped = down.stats()

        memory = UsageRecorder(None)
        rows.append(
            summary(
                "make event + record()",
                await time_calls(lambda n: memory.record(make_event(n)), calls),
            )
        )
        metrics = Metrics(["odoo_prod", "odoo_lab"])
        rows.append(
            summary(
                "Metrics.observe_request",
                await time_calls(
                    lambda n: metrics.observe_request("http", "Route", "odoo_lab", "ok", 0.001),
                    calls,
                ),
            )
        )
        decisions = logging.getLogger("coordinator.service")
        for background in (False, True):
            with _Discard() as sink_file:
                handler = configure_logging("json", "info", stream=sink_file, background=background)
                where = "in a thread (default)" if background else "in the caller"
                rows.append(
                    summary(
                        f"log_decision, JSON line formatted {where}",
                        await time_calls(
                            lambda n: log_decision(decisions, events[n]), calls, pause=0.002
                        ),
                    )
                )
                handler.close()
                logging.getLogger().removeHandler(handler)
    finally:
        connection: asyncpg.Connection[Any] = await asyncpg.connect(DSN)
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()

    print(f"{calls} calls per row; microseconds per call\n")
    print("| path | p50 µs | p99 µs | mean µs |")
    print("|---|---|---|---|")
    for name, p50, p99, mean in rows:
        print(f"| {name} | {p50:.2f} | {p99:.2f} | {mean:.2f} |")
    print(
        f"\nhealthy sink: written {written.written}, dropped {written.dropped}; "
        f"down sink: queued up to {calls}, dropped {dropped.dropped}, state {dropped.state}"
    )
    print(
        f"PostgreSQL sink throughput, batches of 200: {throughput:,.0f} events/s; "
        f"writer CPU in this process: {writer_cpu_us:.1f} µs per event"
    )
    worst = max(p50 for name, p50, _, _ in rows if "record()" in name) / 1000
    verdict = "OK" if worst <= LIMIT_MS else "OVER"
    print(f"worst p50 of a row with record(): {worst:.4f} ms (limit {LIMIT_MS} ms): {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    calls = parser.parse_args().calls
    # The event loop the coordinator serves on.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main(calls))
