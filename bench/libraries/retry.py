"""Moving on after a failed attempt (`coordinator/retry.py`) vs tenacity and stamina."""

from __future__ import annotations

import asyncio
import random

import stamina
import stamina.instrumentation
import tenacity

from bench.libraries.timing import Refused, compare, compare_async, facts, table
from coordinator.retry import RetryBudget, RetryPolicy, backoff_seconds, may_move_on
from coordinator.targets.errors import TargetUnavailable


def run(batches: int) -> list[str]:
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
        raise Refused

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
        raise Refused

    async def with_stamina() -> str:
        async for attempt in stamina.retry_context(
            on=movable, attempts=len(chain), timeout=None, wait_initial=0.005, wait_max=0.1
        ):
            with attempt:
                return await call(chain[attempt.num - 1])
        raise Refused

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
