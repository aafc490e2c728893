"""The resilience building blocks as pure values: breaker, retry predicates and
budget, probe verdicts. The clock is a number the test moves."""

from __future__ import annotations

import asyncio
import random

import pytest

from coordinator.breaker import BreakerPolicy, CircuitBreaker
from coordinator.calls import CallContext
from coordinator.config import Settings
from coordinator.errors import CoordinatorError
from coordinator.operations import Operation
from coordinator.probes import HealthProber, ProbePolicy, ProbeState
from coordinator.retry import RetryBudget, RetryPolicy, backoff_seconds, may_move_on
from coordinator.service import CoordinatorService, RouteCall
from tests.support.scripted_target import ScriptedTarget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_five_consecutive_failures() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(), clock)
    for _ in range(4):
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_success()  # a success resets the count
    for _ in range(4):
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert str(breaker.state) == "open"
    assert not breaker.allows_request()


def test_half_open_probe_after_30s_and_doubling_backoff_up_to_300s() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(), clock)
    for _ in range(5):
        breaker.record_failure()
    waits: list[float] = []
    for _ in range(6):
        opened_at = clock.now
        clock.now += 1
        assert breaker.state == "open"
        while breaker.state == "open":
            clock.now += 1
        waits.append(clock.now - opened_at)
        assert breaker.allows_request()  # the one probe
        assert not breaker.allows_request()  # only one at a time
        breaker.record_failure(trial=True)
    assert waits == [30, 60, 120, 240, 300, 300]
    clock.now += 301
    assert breaker.allows_request()
    breaker.record_success()
    assert breaker.state == "closed"
    for _ in range(5):
        breaker.record_failure()
    clock.now += 30
    assert str(breaker.state) == "half_open"  # the wait starts again from 30 s


def test_late_failures_of_calls_started_before_the_trip_do_not_extend_the_wait() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(), clock)
    for _ in range(10):  # ten calls in flight to a frozen target fail one after another
        breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 30
    assert str(breaker.state) == "half_open"  # 30 s, not 300 s
    assert breaker.allows_request()
    breaker.record_failure()  # one more late reply while the trial runs: still nothing
    breaker.record_failure(trial=True)
    clock.now += 59
    assert breaker.state == "open"
    clock.now += 1
    assert str(breaker.state) == "half_open"  # the failed trial doubled the wait once


def test_a_call_started_before_the_trip_that_fails_after_the_wait_does_not_extend_it() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(), clock)
    slow_call_started = clock.now  # e.g. a 60 s timeout, still waiting
    clock.now += 1
    for _ in range(5):
        breaker.record_failure(started_at=clock.now)
    clock.now += 45  # past the 30 s wait, no trial yet: the slow call times out now
    breaker.record_failure(started_at=slow_call_started)
    assert str(breaker.state) == "half_open"  # still 30 s, not doubled
    breaker.record_failure(started_at=clock.now)  # a call after the wait fails: still down
    clock.now += 59
    assert breaker.state == "open"
    clock.now += 1
    assert str(breaker.state) == "half_open"  # doubled once, to 60 s


def test_a_successful_probe_while_open_lets_the_next_call_through_as_a_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerPolicy(), clock)
    breaker.probe_succeeded()
    assert breaker.state == "closed"  # nothing to do while closed
    for _ in range(5):
        breaker.record_failure()
    clock.now += 5
    breaker.probe_succeeded()
    assert str(breaker.state) == "half_open"
    assert breaker.allows_request()
    assert not breaker.allows_request()  # one trial, not a flood
    breaker.record_success()
    assert str(breaker.state) == "closed"


@pytest.mark.parametrize(
    ("may_have_run", "read_only", "expected"),
    [(False, False, True), (False, True, True), (True, True, True), (True, False, False)],
)
def test_moving_on_is_safe_only_when_nothing_ran_or_nothing_changes(
    may_have_run: bool, read_only: bool, expected: bool
) -> None:
    assert may_move_on(may_have_run=may_have_run, read_only=read_only) is expected


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)
    assert backoff_seconds(policy, 1, lambda: 1.0) == pytest.approx(0.01)
    assert backoff_seconds(policy, 2, lambda: 1.0) == pytest.approx(0.02)
    assert backoff_seconds(policy, 9, lambda: 1.0) == pytest.approx(0.05)
    assert backoff_seconds(policy, 3, lambda: 0.5) == pytest.approx(0.02)
    assert backoff_seconds(policy, 3, lambda: 0.0) == 0.0


async def test_jitter_leaves_the_process_random_state_alone() -> None:
    """The module-level `random` belongs to whatever embeds the coordinator: hypothesis fails
    a test when that state moves while it draws an example, as a probe in a thread made it."""
    random.seed(7)
    before = random.getstate()
    backoffs = {backoff_seconds(RetryPolicy(), 3) for _ in range(20)}
    waits: list[float] = []
    twenty_rounds = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 20:
            twenty_rounds.set()
        await asyncio.sleep(0)

    target = ScriptedTarget("odoo_prod")
    async with HealthProber({"odoo_prod": target}, ProbePolicy(), sleep=sleep):
        await twenty_rounds.wait()
    assert random.getstate() == before
    # ...and the jitter is still random.
    assert len(backoffs) > 1
    assert len(set(waits)) > 1


def test_retry_budget_is_twenty_percent_of_active_requests() -> None:
    budget = RetryBudget(RetryPolicy(budget_ratio=0.2, min_concurrent_retries=3))
    granted = sum(budget.try_acquire(active_requests=100) for _ in range(50))
    assert granted == 20
    assert budget.rejected == 30
    budget.release()
    assert budget.try_acquire(active_requests=100)


def test_retry_budget_keeps_a_minimum_when_traffic_is_low() -> None:
    budget = RetryBudget(RetryPolicy(budget_ratio=0.2, min_concurrent_retries=3))
    assert [budget.try_acquire(active_requests=2) for _ in range(4)] == [True, True, True, False]


def test_probe_verdict_needs_three_failures_and_two_successes() -> None:
    state = ProbeState(ProbePolicy(unhealthy_after=3, healthy_after=2))
    assert not state.record("timeout")
    assert not state.record("timeout")
    assert state.record("timeout")
    assert not state.healthy
    assert "failed 3 health probes: timeout" in state.reason
    assert not state.record(None)
    assert not state.record("refused")  # not two in a row
    assert not state.record(None)
    assert state.record(None)
    assert state.healthy
    assert state.reason == ""


async def test_a_probe_reaching_a_target_whose_calls_opened_its_breaker_lets_a_trial_through() -> (
    None
):
    """Calls failed while probes kept passing (a blip, or a server that answers ping but not
    tools): the verdict never changes, yet each probe that gets through ends the breaker's wait."""
    clock = Clock()
    prod = ScriptedTarget("odoo_prod")
    settings = Settings(targets=(prod.config,), default_target="odoo_prod")
    pinned = RouteCall(Operation.parse(tool="list_skills"), target="odoo_prod", no_cache=True)
    ctx = CallContext(door="grpc", method="/test/Route")
    async with prod:
        service = CoordinatorService(settings, {"odoo_prod": prod}, clock=clock)
        prober = HealthProber(
            {"odoo_prod": prod},
            ProbePolicy(),
            on_change=service.on_probe,
            on_reached=service.on_probe_reached,
        )
        prod.behaviour = "refuse"
        for _ in range(5):
            with pytest.raises(CoordinatorError):
                await service.route(pinned, ctx)
        assert service.status().targets["odoo_prod"].circuit == "open"
        prod.behaviour = "answer"
        clock.now += 1  # 29 s of the wait are left
        await prober.probe_once("odoo_prod")
        assert prober.states["odoo_prod"].healthy  # the verdict never changed
        assert service.status().targets["odoo_prod"].circuit == "half_open"
        answered = await service.route(pinned, ctx)
        assert [(a.target, a.outcome) for a in answered.attempts] == [("odoo_prod", "ok")]
        assert service.status().targets["odoo_prod"].circuit == "closed"
