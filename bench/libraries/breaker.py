"""The circuit breaker (`coordinator/breaker.py`) vs pybreaker and purgatory."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import pybreaker
from purgatory import AsyncCircuitBreakerFactory

from bench.libraries.timing import Clock, Refused, compare, compare_async, facts, table
from coordinator.breaker import CircuitBreaker


def run(batches: int) -> list[str]:
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
            raise Refused

    with suppress(Exception):
        await asyncio.gather(*(through_pybreaker() for _ in range(3)), return_exceptions=True)
    pybreaker_trials = entered

    clock = Clock()
    ours = CircuitBreaker(clock=clock)
    for _ in range(5):
        ours.record_failure()
    clock.now += 31
    ours_trials = sum(ours.allows_request() for _ in range(3))

    factory = AsyncCircuitBreakerFactory(default_threshold=1, default_ttl=0.01)
    purgatory_entered = 0
    with suppress(Exception):
        async with await factory.get_breaker("t"):
            raise Refused
    await asyncio.sleep(0.02)

    async def through_purgatory() -> None:
        nonlocal purgatory_entered
        async with await factory.get_breaker("t"):
            purgatory_entered += 1
            await asyncio.sleep(0.01)
            raise Refused

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
            raise Refused

    in_flight = asyncio.create_task(slow_failure())
    await asyncio.sleep(0.01)
    with suppress(Exception):
        breaker.call(_fail)
    opened_at = breaker._state_storage.opened_at
    await in_flight
    return breaker._state_storage.opened_at != opened_at


def _late_failure_moves_ours() -> bool:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 1
    breaker.record_failure()  # a call that started while the breaker was closed
    clock.now += 29.5  # past the 30 s wait that began with the fifth failure
    return breaker.state == "open"


def _fail() -> None:
    raise Refused
