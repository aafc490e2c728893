"""Hand-written pieces vs the well-kept libraries doing the same job, side by side.

    .venv/bin/pip install -e ".[bench]"    # or ".[dev]", which includes it
    taskset -c 1 .venv/bin/python bench/bench_libraries.py [--batches N] [--only SECTION ...]

Sections: cache (MemoryStore vs cachetools), retry (retry.py vs tenacity and
stamina), breaker (breaker.py vs pybreaker and purgatory), logs (JsonFormatter vs
python-json-logger and structlog), config (load_settings vs pydantic-settings:
behaviour and error messages only), jsonmap (gateway/jsonmap.py vs
google.protobuf.json_format).

Every timed row is the median over `--batches` batches of the CPU time per
call (this thread's, so the other processes of a shared machine taking the core
away in the middle of a batch do not count), the contenders of a table run batch
by batch in turn (interleaved). Besides the timings each section prints
what the library can and cannot express of what the hand-written piece does,
probed by running it wherever a probe can show it (half-open trials, late
failures, per-entry expiry, error messages, output of the same message).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import cachetools
import orjson
import pybreaker
import stamina
import stamina.instrumentation
import structlog
import tenacity
from google.protobuf import json_format
from google.protobuf.message import Message
from mcpcoordinator.v1 import coordinator_pb2 as pb
from purgatory import AsyncCircuitBreakerFactory
from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)
from pythonjsonlogger.json import JsonFormatter as PjlJsonFormatter
from pythonjsonlogger.orjson import OrjsonFormatter as PjlOrjsonFormatter

from coordinator.breaker import CircuitBreaker
from coordinator.cache import CacheEntry
from coordinator.cache.memory_store import MemoryStore
from coordinator.config import ConfigError, load_settings
from coordinator.errors import CoordinatorError
from coordinator.gateway.jsonmap import CodecRegistry, MessageCodec, dump_json, parse_json
from coordinator.logs import JsonFormatter, _Redactor, log_decision
from coordinator.retry import RetryBudget, RetryPolicy, backoff_seconds, may_move_on
from coordinator.targets.errors import TargetUnavailable
from coordinator.usage import UsageAttempt, UsageEvent

Timed = Callable[[], object]
T = TypeVar("T")


# --- measuring ----------------------------------------------------------------


def compare(contenders: dict[str, Timed], batches: int, batch: int) -> dict[str, float]:
    """Median µs per call of each contender, batches interleaved round-robin."""
    _freeze_setup()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for operation in contenders.values():  # warm-up
        for _ in range(batch):
            operation()
    for _ in range(batches):
        for name, operation in contenders.items():
            start = time.thread_time_ns()
            for _ in range(batch):
                operation()
            samples[name].append((time.thread_time_ns() - start) / 1000 / batch)
    return {name: statistics.median(values) for name, values in samples.items()}


async def compare_async(
    contenders: dict[str, Callable[[], Awaitable[object]]], batches: int, batch: int
) -> dict[str, float]:
    _freeze_setup()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for operation in contenders.values():
        for _ in range(batch):
            await operation()
    for _ in range(batches):
        for name, operation in contenders.items():
            start = time.thread_time_ns()
            for _ in range(batch):
                await operation()
            samples[name].append((time.thread_time_ns() - start) / 1000 / batch)
    return {name: statistics.median(values) for name, values in samples.items()}


def _freeze_setup() -> None:
    """Moves what the set-up made out of the collector's sight, as `serve` does after
    start-up, so a full collection walking it does not land on whichever contender
    happens to run at that moment."""
    gc.collect()
    gc.freeze()


def table(title: str, results: dict[str, float], baseline: str) -> list[str]:
    lines = [f"### {title}", "", "| contender | µs per call | vs hand-written |", "|---|---|---|"]
    for name, micros in results.items():
        lines.append(f"| {name} | {micros:.2f} | {micros / results[baseline]:.2f}x |")
    return [*lines, ""]


def facts(rows: list[tuple[str, str]]) -> list[str]:
    lines = ["| question | answer |", "|---|---|"]
    lines += [f"| {question} | {answer} |" for question, answer in rows]
    return [*lines, ""]


# --- cache: MemoryStore vs cachetools ------------------------------------------

CACHE_SIZE = 10_000
GRACE = 300.0  # stale-if-error keeps an entry this long past its expiry


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _cache_entries(count: int, now: float) -> list[tuple[str, CacheEntry, bytes]]:
    made = []
    for n in range(count):
        entry = CacheEntry(
            value={"content": [{"type": "text", "text": f"answer {n}"}], "isError": False},
            target="odoo_prod",
            stored_at=now,
            expires_at=now + 300 + n % 7,  # entries of one store expire at different times
        )
        made.append((f"mcpc:v1:bench:{n:064x}", entry, orjson.dumps(entry.value)))
    return made


def bench_cache(batches: int) -> list[str]:
    clock = _Clock()
    now = clock.now
    entries = _cache_entries(2 * CACHE_SIZE, now)
    resident = entries[:CACHE_SIZE]

    store = MemoryStore(max_entries=CACHE_SIZE)
    ttl: cachetools.TTLCache[str, tuple[CacheEntry, bytes]] = cachetools.TTLCache(
        maxsize=CACHE_SIZE, ttl=300 + GRACE, timer=clock
    )
    # Per-entry lifetime: each value says until when it may be kept (expiry + grace).
    tlru: cachetools.TLRUCache[str, tuple[CacheEntry, bytes]] = cachetools.TLRUCache(
        maxsize=CACHE_SIZE, ttu=lambda _key, value, _now: value[0].expires_at + GRACE, timer=clock
    )
    for key, entry, encoded in resident:
        store.store(key, entry, entry.expires_at + GRACE, encoded)
        ttl[key] = (entry, encoded)
        tlru[key] = (entry, encoded)

    hits = _cycle([key for key, _, _ in resident])
    missing = "mcpc:v1:bench:absent"

    def tlru_lookup_encoded(key: str, encoded: bytes) -> CacheEntry | None:
        slot = tlru.get(key)
        return slot[0] if slot is not None and slot[1] == encoded else None

    encoded_hits = _cycle([(key, encoded) for key, _, encoded in resident])
    # Every store into a full cache evicts the least recently used entry.
    fresh = _cycle(entries)

    def store_new() -> None:
        key, entry, encoded = next(fresh)
        store.store(key, entry, entry.expires_at + GRACE, encoded)

    def ttl_new() -> None:
        key, entry, encoded = next(fresh)
        ttl[key] = (entry, encoded)

    def tlru_new() -> None:
        key, entry, encoded = next(fresh)
        tlru[key] = (entry, encoded)

    batch = 2000
    lines = ["## cache: `MemoryStore` vs cachetools", ""]
    lines += table(
        "get, hit (10,000 entries)",
        compare(
            {
                "MemoryStore.lookup": lambda: store.lookup(next(hits), now),
                "cachetools.TTLCache.get": lambda: ttl.get(next(hits)),
                "cachetools.TLRUCache.get": lambda: tlru.get(next(hits)),
            },
            batches,
            batch,
        ),
        "MemoryStore.lookup",
    )
    lines += table(
        "get, miss",
        compare(
            {
                "MemoryStore.lookup": lambda: store.lookup(missing, now),
                "cachetools.TTLCache.get": lambda: ttl.get(missing),
                "cachetools.TLRUCache.get": lambda: tlru.get(missing),
            },
            batches,
            batch,
        ),
        "MemoryStore.lookup",
    )
    lines += table(
        "lookup of the decoded entry by its Redis bytes (hit)",
        compare(
            {
                "MemoryStore.lookup_encoded": lambda: store.lookup_encoded(*next(encoded_hits)),
                "TLRUCache.get + bytes compare": lambda: tlru_lookup_encoded(*next(encoded_hits)),
            },
            batches,
            batch,
        ),
        "MemoryStore.lookup_encoded",
    )
    lines += table(
        "put into a full cache (evicts one)",
        compare(
            {"MemoryStore.store": store_new, "TTLCache set": ttl_new, "TLRUCache set": tlru_new},
            batches,
            batch,
        ),
        "MemoryStore.store",
    )
    lines += facts(_cache_facts())
    return lines


def _cycle(items: Sequence[T]) -> Iterator[T]:
    while True:
        yield from items


def _cache_facts() -> list[tuple[str, str]]:
    clock = _Clock()
    entry_short = CacheEntry(value=1, target="a", stored_at=clock.now, expires_at=clock.now + 10)
    entry_long = CacheEntry(value=2, target="a", stored_at=clock.now, expires_at=clock.now + 100)
    tlru: cachetools.TLRUCache[str, CacheEntry] = cachetools.TLRUCache(
        maxsize=10, ttu=lambda _k, v, _n: v.expires_at + GRACE, timer=clock
    )
    tlru["short"], tlru["long"] = entry_short, entry_long
    clock.now += 10 + GRACE + 1
    per_entry = "short" not in tlru and "long" in tlru
    ttl: cachetools.TTLCache[str, CacheEntry] = cachetools.TTLCache(
        maxsize=10, ttl=100, timer=clock
    )
    ttl["short"], ttl["long"] = entry_short, entry_long
    clock.now += 50
    ttl_per_entry = "short" not in ttl
    return [
        (
            "per-entry expiry (each answer carries its own `expires_at`)",
            f"TTLCache: {'yes' if ttl_per_entry else 'no, one ttl for every entry'}; "
            f"TLRUCache: {'yes' if per_entry else 'no'}, `ttu(key, value, now)`",
        ),
        (
            "stale grace (keep past expiry for stale-if-error)",
            "TLRUCache: yes, `ttu` returns expiry + grace; telling fresh from stale stays with "
            "the caller (as now: `CacheEntry.expires_at`)",
        ),
        (
            "lookup of the decoded entry by its Redis bytes",
            "yes, with `(entry, bytes)` as the value and a compare by the caller",
        ),
        (
            "injected clock",
            "yes, `timer=`; the store then reads the clock itself instead of being given `now`",
        ),
        ("LRU bound", "yes: expired entries go first, then the least recently used"),
    ]


# --- retry: retry.py vs tenacity and stamina ---------------------------------------


class _Refused(Exception):
    pass


def bench_retry(batches: int) -> list[str]:
    policy = RetryPolicy()
    rng = random.Random(7).random
    budget = RetryBudget(policy)
    chain = ("odoo_prod", "odoo_lab")

    async def call(target: str) -> str:
        if target == "odoo_prod":
            raise TargetUnavailable(target, "refused", "connection refused", may_have_run=False)
        return "answer"

    async def no_sleep(_seconds: float) -> None:
        return None

    async def hand_written() -> str:
        # The shape of CoordinatorService._route: one attempt per target, a budget slot
        # and a backoff before every attempt after the first.
        live = 0
        for name in chain:
            if live and not budget.try_acquire(active_requests=10):
                break
            retry_number, live = live, live + 1
            try:
                if retry_number:
                    await no_sleep(backoff_seconds(policy, retry_number, rng))
                return await call(name)
            except TargetUnavailable as exc:
                if not may_move_on(may_have_run=exc.may_have_run, read_only=False):
                    raise
            finally:
                if retry_number:
                    budget.release()
        raise _Refused

    def movable(exc: BaseException) -> bool:
        return isinstance(exc, TargetUnavailable) and may_move_on(
            may_have_run=exc.may_have_run, read_only=False
        )

    async def with_tenacity() -> str:
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(len(chain)),
            wait=tenacity.wait_random_exponential(multiplier=0.005, max=0.1),
            retry=tenacity.retry_if_exception(movable),
            sleep=no_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                # The next target, not the same call again.
                return await call(chain[attempt.retry_state.attempt_number - 1])
        raise _Refused

    async def with_stamina() -> str:
        async for attempt in stamina.retry_context(
            on=movable, attempts=len(chain), timeout=None, wait_initial=0.005, wait_max=0.1
        ):
            with attempt:
                return await call(chain[attempt.num - 1])
        raise _Refused

    state = tenacity.RetryCallState(tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = 2
    wait = tenacity.wait_random_exponential(multiplier=0.005, max=0.1)

    lines = ["## retry: `retry.py` vs tenacity and stamina", ""]
    lines += table(
        "one backoff decision (second attempt)",
        compare(
            {
                "backoff_seconds": lambda: backoff_seconds(policy, 2, rng),
                "tenacity.wait_random_exponential": lambda: wait(state),
            },
            batches,
            5000,
        ),
        "backoff_seconds",
    )
    # Backoff 0 (stamina has no injected sleep), and no log line per retry (its default).
    stamina.set_testing(True, attempts=len(chain))
    stamina.instrumentation.set_on_retry_hooks([])
    try:
        walk = asyncio.run(
            compare_async(
                {
                    "hand-written loop (retry.py pieces)": hand_written,
                    "tenacity.AsyncRetrying": with_tenacity,
                    "stamina.retry_context": with_stamina,
                },
                batches,
                500,
            )
        )
    finally:
        stamina.set_testing(False)
        stamina.instrumentation.set_on_retry_hooks(None)
    lines += table(
        "a two-target walk: the first refuses, the next answers (no sleeping)",
        walk,
        "hand-written loop (retry.py pieces)",
    )
    lines += facts(
        [
            (
                "move on to the NEXT target instead of repeating the call",
                "yes in both, by picking the target from the attempt number in the loop body; "
                "skipped targets (unhealthy, other data group, breaker) would spend attempts "
                "unless the body loops over them itself, which is the loop we have",
            ),
            (
                "a retry budget shared by concurrent requests",
                "no in either: a `retry=`/`on=` predicate can take a slot, but releasing it when "
                "the retried attempt ends needs our own code around the body (`RetryBudget` stays)",
            ),
            (
                "injected sleep and random source (tests move a clock, record sleeps)",
                "tenacity: `sleep=` yes, jitter from the global `random`; stamina: no (a global "
                "testing mode that turns backoff off)",
            ),
            (
                "full jitter (`uniform(0, min(max, initial * 2**n))`)",
                "tenacity: yes (`wait_random_exponential`); stamina: additive jitter "
                "(`initial * 2**n + uniform(0, jitter)`), a different curve",
            ),
            (
                "deadline of the whole request caps the backoff",
                "tenacity: `stop_before_delay` stops instead of shortening the last sleep",
            ),
        ]
    )
    return lines


# --- breaker: breaker.py vs pybreaker and purgatory --------------------------------


def bench_breaker(batches: int) -> list[str]:
    ours = CircuitBreaker()
    theirs = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=30)

    def ours_call() -> None:
        if ours.allows_request():
            ours.record_success()

    def pybreaker_call() -> None:
        with theirs.calling():
            pass

    factory = AsyncCircuitBreakerFactory(default_threshold=5, default_ttl=30)

    async def purgatory_call() -> None:
        async with await factory.get_breaker("odoo_prod"):
            pass

    async def ours_async() -> None:
        ours_call()

    lines = ["## breaker: `breaker.py` vs pybreaker and purgatory", ""]
    lines += table(
        "one call through a closed breaker (admit + record success)",
        compare(
            {"CircuitBreaker": ours_call, "pybreaker.calling()": pybreaker_call}, batches, 5000
        ),
        "CircuitBreaker",
    )
    lines += table(
        "the same, async (purgatory has only an async API)",
        asyncio.run(
            compare_async(
                {"CircuitBreaker": ours_async, "purgatory get_breaker": purgatory_call},
                batches,
                1000,
            )
        ),
        "CircuitBreaker",
    )
    lines += facts(asyncio.run(_breaker_facts()))
    return lines


async def _breaker_facts() -> list[tuple[str, str]]:
    # Half-open: how many of three concurrent calls reach a target that is still down?
    theirs = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=0.01)
    with suppress(Exception):
        theirs.call(_fail)
    await asyncio.sleep(0.02)
    entered = 0

    async def through_pybreaker() -> None:
        nonlocal entered
        with theirs.calling():
            entered += 1
            await asyncio.sleep(0.01)
            raise _Refused

    with suppress(Exception):
        await asyncio.gather(*(through_pybreaker() for _ in range(3)), return_exceptions=True)
    pybreaker_trials = entered

    clock = _Clock()
    ours = CircuitBreaker(clock=clock)
    for _ in range(5):
        ours.record_failure()
    clock.now += 31
    ours_trials = sum(ours.allows_request() for _ in range(3))

    factory = AsyncCircuitBreakerFactory(default_threshold=1, default_ttl=0.01)
    purgatory_entered = 0
    with suppress(Exception):
        async with await factory.get_breaker("t"):
            raise _Refused
    await asyncio.sleep(0.02)

    async def through_purgatory() -> None:
        nonlocal purgatory_entered
        async with await factory.get_breaker("t"):
            purgatory_entered += 1
            await asyncio.sleep(0.01)
            raise _Refused

    await asyncio.gather(*(through_purgatory() for _ in range(3)), return_exceptions=True)
    late_pybreaker, late_ours = await _late_failure_moves_pybreaker(), _late_failure_moves_ours()
    return [
        (
            "half-open: concurrent calls let through to a target still down (of 3)",
            f"breaker.py: {ours_trials}; pybreaker: {pybreaker_trials}; "
            f"purgatory: {purgatory_entered}",
        ),
        (
            "injected clock (tests move time by hand)",
            "breaker.py: yes; pybreaker: no (`datetime.now(UTC)` in the open state); "
            "purgatory: no (`time.time()`, a wall clock that jumps)",
        ),
        (
            "open period doubles after a failed trial, up to a maximum",
            "pybreaker: not built in (`reset_timeout` is a settable property: a state listener "
            "could double it); purgatory: no (fixed `ttl`)",
        ),
        (
            "a late failure of a call that began before opening changes nothing",
            f"breaker.py: {'no, the wait moved' if late_ours else 'yes'}; pybreaker: "
            f"{'no, it re-opens and the wait starts again' if late_pybreaker else 'yes'}; "
            "purgatory: counted against the state at exit (re-opens when half-open)",
        ),
        (
            "a successful health probe ends the wait",
            "pybreaker: `half_open()` can be called; purgatory: no public way",
        ),
        (
            "asyncio",
            "pybreaker: `calling()` works around an await, `call_async` needs tornado; "
            "purgatory: native; aiobreaker: last release 1.2.0 (2021-05), uses "
            "`datetime.utcnow()` (deprecated since 3.12), not considered",
        ),
        (
            "last release",
            "pybreaker 1.4.1 (wheel built 2025-09); purgatory 3.0.1 (2024-11-02, its changelog)",
        ),
    ]


async def _late_failure_moves_pybreaker() -> bool:
    """A call in flight when the breaker opens fails afterwards: does the open wait move?"""
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=60)

    async def slow_failure() -> None:
        with suppress(Exception), breaker.calling():
            await asyncio.sleep(0.05)
            raise _Refused

    in_flight = asyncio.create_task(slow_failure())
    await asyncio.sleep(0.01)
    with suppress(Exception):
        breaker.call(_fail)
    opened_at = breaker._state_storage.opened_at
    await in_flight
    return breaker._state_storage.opened_at != opened_at


def _late_failure_moves_ours() -> bool:
    clock = _Clock()
    breaker = CircuitBreaker(clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 1
    breaker.record_failure()  # a call that started while the breaker was closed
    clock.now += 29.5  # past the 30 s wait that began with the fifth failure
    return breaker.state == "open"


def _fail() -> None:
    raise _Refused


# --- logs: JsonFormatter vs python-json-logger and structlog --------------------------

SECRET = "sk-live-0123456789abcdef"


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _decision_record() -> logging.LogRecord:
    """The record `log_decision` makes for a failed-over Route, with a secret in an error."""
    logger = logging.getLogger("bench.libraries.decisions")
    logger.propagate = False
    keep = _Keep()
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    event = UsageEvent(
        request_id="3f2b6c1e-8a4d-4c1b-9f0e-2d7a5b6c8e91",
        door="rest",
        method="tools/call",
        operation="tools/call",
        outcome="ok",
        status_code="OK",
        latency_ms=12.3456,
        tool_or_method="search_read",
        target="odoo_lab",
        rule="context:migration",
        reason="Migration work uses the testing environment",
        confidence=0.9,
        failover=True,
        attempts=(
            UsageAttempt("odoo_prod", "unavailable", 2.5, f"refused (key {SECRET})"),
            UsageAttempt("odoo_lab", "ok", 9.8),
        ),
        api_key_id="k_1a2b3c",
    )
    log_decision(logger, event)
    logger.removeHandler(keep)
    return keep.records[0]


class _RedactingPjl(PjlJsonFormatter):
    """python-json-logger plus the coordinator's redaction (it has none of its own)."""

    def __init__(self, redactor: _Redactor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._redactor = redactor

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return _pjl_record(self._redactor, log_data)

    def serialize_log_record(self, log_data: dict[str, Any]) -> str:
        return self._redactor.text(super().serialize_log_record(log_data))


def _pjl_record(redactor: _Redactor, log_data: dict[str, Any]) -> dict[str, Any]:
    log_data["level"] = log_data["level"].lower()
    return {name: redactor.field(name, value) for name, value in log_data.items()}


class _RedactingPjlOrjson(PjlOrjsonFormatter):
    def __init__(self, redactor: _Redactor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._redactor = redactor

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return _pjl_record(self._redactor, log_data)

    def serialize_log_record(self, log_data: dict[str, Any]) -> str:
        return self._redactor.text(super().serialize_log_record(log_data))


def bench_logs(batches: int) -> list[str]:
    record = _decision_record()
    redactor = _Redactor([SECRET])
    same_fields: dict[str, Any] = {
        "fmt": ["levelname", "name", "message"],
        "rename_fields": {"levelname": "level", "name": "logger"},
        "timestamp": "time",
    }
    ours = JsonFormatter(redactor)
    pjl = _RedactingPjl(redactor, **same_fields)
    pjl_orjson = _RedactingPjlOrjson(redactor, **same_fields)

    def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
        return {name: redactor.field(name, value) for name, value in event.items()}

    def dumps_redacted(document: Any, **options: Any) -> str:
        return redactor.text(json.dumps(document, **options))

    structlog_formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
            structlog.stdlib.ExtraAdder(),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.EventRenamer("message"),
            redact,
            structlog.processors.JSONRenderer(dumps_redacted, ensure_ascii=False, default=str),
        ],
    )
    formatters: dict[str, logging.Formatter] = {
        "coordinator JsonFormatter": ours,
        "python-json-logger (json) + redaction": pjl,
        "python-json-logger (orjson) + redaction": pjl_orjson,
        "structlog ProcessorFormatter + redaction": structlog_formatter,
    }
    lines = ["## logs: `JsonFormatter` vs python-json-logger and structlog", ""]
    lines += table(
        "format one decision line (16 fields, two attempts, a secret to redact)",
        compare({name: _formatting(f, record) for name, f in formatters.items()}, batches, 500),
        "coordinator JsonFormatter",
    )
    reference = json.loads(ours.format(record))
    rows = []
    for name, formatter in formatters.items():
        line = formatter.format(record)
        document = json.loads(line)
        missing = sorted(set(reference) - set(document))
        extra = sorted(set(document) - set(reference))
        rows.append(
            (
                f"{name}: same keys as ours? secret gone?",
                f"missing {missing or 'none'}, extra {extra or 'none'}; level "
                f"{document.get('level')!r}; time {document.get('time')!r}; "
                f"secret {'LEAKED' if SECRET in line else 'redacted'}",
            )
        )
    rows.append(
        (
            "redaction built in",
            "neither: both take it as a hook (`process_log_record`, a processor), "
            "which calls our `_Redactor`",
        )
    )
    lines += facts(rows)
    return lines


def _formatting(formatter: logging.Formatter, record: logging.LogRecord) -> Timed:
    def format_once() -> str:
        # Formatters may set attributes on the record (message, asctime): start clean.
        fresh = logging.makeLogRecord(dict(vars(record)))
        return formatter.format(fresh)

    return format_once


# --- config: load_settings vs pydantic-settings --------------------------------------


class _LibrarySettings(BaseSettings):
    """The same scalar settings declared with pydantic-settings (a few of them)."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    environment: str = "development"
    port: int = Field(default=8766, ge=0, le=65535)
    cache_ttl: float = Field(default=300.0, ge=0)
    default_target: str | None = None
    targets: tuple[dict[str, Any], ...] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = os.environ.get("COORDINATOR_CONFIG")
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if yaml_file:
            sources += (YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file),)
        return sources


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _library_outcome(env: dict[str, str]) -> str:
    with _environment(env):
        try:
            settings = _LibrarySettings()
        except ValidationError as exc:
            return "`" + " ".join(str(exc).split()) + "`"
    return f"port={settings.port}, cache_ttl={settings.cache_ttl}, targets={settings.targets}"


def _ours_outcome(env: dict[str, str]) -> str:
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        return f"`{exc}`"
    return (
        f"port={settings.port}, cache_ttl={settings.cache_ttl}, "
        f"targets={[(t.name, t.url) for t in settings.targets]}"
    )


def bench_config(_batches: int) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        yaml_file = Path(folder) / "coordinator.yaml"
        yaml_file.write_text("port: 9000\ncache_ttl: 60\n")
        cases = [
            ("CACHE_TTL=soon", {"CACHE_TTL": "soon"}),
            ("PORT=70000 (ours checks 0..65535)", {"PORT": "70000"}),
            (
                "ODOO_PROD_MCP_URL=http://odoo:8000/mcp",
                {"ODOO_PROD_MCP_URL": "http://odoo:8000/mcp"},
            ),
            (
                "YAML port 9000, env PORT=9100",
                {"COORDINATOR_CONFIG": str(yaml_file), "PORT": "9100"},
            ),
        ]
        rows = []
        for label, env in cases:
            rows.append(
                (label, f"ours: {_ours_outcome(env)}<br>pydantic-settings: {_library_outcome(env)}")
            )
    rows.append(
        (
            "`<NAME>_MCP_URL`: a target per variable, names not known in advance",
            "pydantic-settings: not expressible by field declarations; it takes a custom "
            "`PydanticBaseSettingsSource` that scans the environment, i.e. the loop "
            "`load_settings` already is",
        )
    )
    return ["## config: `load_settings` vs pydantic-settings", "", *facts(rows)]


# --- jsonmap: gateway/jsonmap.py vs json_format ---------------------------------------

_MESSAGES = pb.DESCRIPTOR.message_types_by_name
_JF_OUT: dict[str, Any] = {
    "preserving_proto_field_name": True,
    "always_print_fields_with_no_presence": True,
}


def _answer(n: int, tools: int) -> dict[str, Any]:
    if tools == 0:
        return {
            "content": [
                {
                    "type": "text",
                    "text": f"Skills {n}: " + ", ".join(f"skill {k}" for k in range(25)),
                }
            ],
            "isError": False,
            "structuredContent": {"count": 25, "page": n},
        }
    return {
        "tools": [
            {
                "name": f"tool_{n}_{k}",
                "description": "Reads records of a model with a domain filter. " * 3,
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "model": {"type": "string"},
                        "limit": {"type": "integer", "minimum": 1},
                        "fields": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["model"],
                },
                "annotations": {"readOnlyHint": True},
            }
            for k in range(tools)
        ]
    }


def _route_response(data: dict[str, Any]) -> pb.RouteResponse:
    response = pb.RouteResponse()
    response.data.struct_value.update(data)
    routing = response.routing
    routing.target, routing.reason, routing.confidence = "odoo_lab", "Migration work", 0.9
    routing.rule, routing.failover = "context:migration", True
    routing.attempts.add(target="odoo_prod", outcome="unavailable", latency_ms=2.5, error="x")
    routing.attempts.add(target="odoo_lab", outcome="ok", latency_ms=9.8)
    return response


def _status_response() -> pb.StatusResponse:
    status = pb.StatusResponse(version="0.1.0", uptime_seconds=3600.5)
    for name in ("odoo_prod", "odoo_lab", "github"):
        target = status.targets[name]
        target.transport, target.healthy, target.circuit = "http", True, "closed"
        target.requests, target.errors, target.latency_p50_ms = 120_000, 12, 3.2
    status.cache.backend, status.cache.hits = "redis", 10_000
    status.usage.sink, status.usage.written = "postgres", 120_000
    status.requests["rest"], status.requests["grpc"] = 100_000, 20_000
    return status


ROUTE_REQUEST = orjson.dumps(
    {
        "tool": "search_read",
        "arguments": {"model": "res.partner", "domain": [["is_company", "=", True]], "limit": 80},
        "context": {"migration": True},
        "allow_failover": True,
    }
)


def bench_jsonmap(batches: int) -> list[str]:
    registry = CodecRegistry()
    request_codec = registry.codec(_MESSAGES["RouteRequest"])
    route_codec = registry.codec(_MESSAGES["RouteResponse"])
    status_codec = registry.codec(_MESSAGES["StatusResponse"])

    def ours_parse() -> Message:
        message = pb.RouteRequest()
        request_codec.decode_into(parse_json(ROUTE_REQUEST, "body"), message, "")
        return message

    def library_parse() -> Message:
        return json_format.Parse(ROUTE_REQUEST, pb.RouteRequest())

    lines = ["## jsonmap: `gateway/jsonmap.py` vs `google.protobuf.json_format`", ""]
    lines += table(
        "RouteRequest: JSON body -> message (0.2 KB)",
        compare({"jsonmap": ours_parse, "json_format.Parse": library_parse}, batches, 200),
        "jsonmap",
    )
    # The same answer again and again (a cache hit: jsonmap's EncodedDocuments memo
    # applies), then answers seen once each (more distinct documents than the memo keeps).
    for label, tools, distinct in (
        ("typical answer, repeated", 0, 1),
        ("typical answer, each one new", 0, 12_000),
        ("large answer (a 30-tool list), repeated", 30, 1),
        ("large answer (a 30-tool list), each one new", 30, 200),
    ):
        responses = [_route_response(_answer(n, tools)) for n in range(distinct)]
        size = len(dump_json(route_codec.encode(responses[0])))
        lines += table(
            f"RouteResponse -> JSON bytes, {label}; {size:,} bytes",
            compare(
                {
                    "jsonmap": _encode_with_jsonmap(route_codec, _cycle(responses)),
                    "json_format.MessageToDict + orjson": _encode_to_dict(_cycle(responses)),
                    "json_format.MessageToJson": _encode_to_json(_cycle(responses)),
                },
                batches,
                20 if tools else 200,
            ),
            "jsonmap",
        )
    status = _status_response()
    lines += table(
        "StatusResponse -> JSON bytes (3 targets)",
        compare(
            {
                "jsonmap": lambda: dump_json(status_codec.encode(status)),
                "json_format.MessageToDict + orjson": lambda: orjson.dumps(
                    json_format.MessageToDict(status, **_JF_OUT)
                ),
            },
            batches,
            200,
        ),
        "jsonmap",
    )
    lines += facts(_jsonmap_facts(registry))
    return lines


def _encode_with_jsonmap(codec: MessageCodec, messages: Iterator[Message]) -> Timed:
    return lambda: dump_json(codec.encode(next(messages)))


def _encode_to_dict(messages: Iterator[Message]) -> Timed:
    return lambda: orjson.dumps(json_format.MessageToDict(next(messages), **_JF_OUT))


def _encode_to_json(messages: Iterator[Message]) -> Timed:
    return lambda: json_format.MessageToJson(next(messages), indent=None, **_JF_OUT)


def _jsonmap_facts(registry: CodecRegistry) -> list[tuple[str, str]]:
    route_codec = registry.codec(_MESSAGES["RouteResponse"])
    counted = _route_response({"count": 3, "items": [1, 2]})
    ours = dump_json(route_codec.encode(counted)).decode()
    theirs = json_format.MessageToJson(counted, indent=None, **_JF_OUT)
    empty = pb.RouteResponse()
    rows = [
        (
            'integers inside Struct (`{"count": 3, "items": [1, 2]}`)',
            f"jsonmap: `{_data_of(ours)}`; json_format: `{_data_of(theirs)}`",
        ),
        (
            "unset message fields (an empty RouteResponse)",
            f"jsonmap: `{dump_json(route_codec.encode(empty)).decode()}`; json_format: "
            f"`{json_format.MessageToJson(empty, indent=None, **_JF_OUT)}` (message fields "
            "have presence: `always_print_fields_with_no_presence` leaves them out)",
        ),
    ]
    bad_bodies: list[tuple[type[Message], bytes]] = [
        (pb.RouteRequest, b'{"allow_failover": "yes"}'),
        (pb.RouteRequest, b'{"tool": 5}'),
        (pb.RouteRequest, b'{"nope": 1}'),
        (pb.RouteRequest, b'{"context": [1]}'),
        (pb.AggregateRequest, b'{"targets": ["odoo_prod", 5]}'),
        (pb.UsageRequest, b'{"window_seconds": 4294967296}'),
        (pb.UsageRequest, b'{"window_seconds": 1.5}'),
    ]
    for message_type, body in bad_bodies:
        try:
            registry.codec(_MESSAGES[message_type.__name__]).decode_into(
                parse_json(body, "body"), message_type(), ""
            )
            ours_error = "accepted"
        except CoordinatorError as exc:
            ours_error = str(exc)
        try:
            json_format.Parse(body, message_type())
            library_error = "accepted"
        except json_format.ParseError as exc:
            library_error = str(exc).replace("\n", " ")
        rows.append(
            (
                f"{message_type.__name__} `{body.decode()}`",
                f"jsonmap: {ours_error}<br>json_format: {library_error}",
            )
        )
    return rows


def _data_of(line: str) -> str:
    return json.dumps(json.loads(line)["data"])


# --- main ------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[int], list[str]]] = {
    "cache": bench_cache,
    "retry": bench_retry,
    "breaker": bench_breaker,
    "logs": bench_logs,
    "config": bench_config,
    "jsonmap": bench_jsonmap,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS), default=sorted(SECTIONS))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, batches {args.batches}, load average {load:.2f}\n")
    for name in SECTIONS:
        if name in args.only:
            print("\n".join(SECTIONS[name](args.batches)), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
