"""The core's failover, breaker, backoff, retry budget, timeouts, caching and cancellation, in
milliseconds: scripted targets in this process, a manual clock and a recorded sleep.

The same paths run against real servers in tests/integration; these pin the logic itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from coordinator.answers import MAX_ANSWER_DEPTH
from coordinator.cache import ResponseCache, open_cache
from coordinator.calls import CallContext
from coordinator.config import Settings
from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.operations import Operation
from coordinator.retry import RetryPolicy
from coordinator.service import AggregateCall, CoordinatorService, RequestTrace, RouteCall
from tests.cache.support import ManualClock
from tests.support.scripted_target import ScriptedTarget

CTX = CallContext(door="grpc", method="/test/Route")
SKILLS = RouteCall(Operation.parse(tool="list_skills"))
LIVE_SKILLS = RouteCall(Operation.parse(tool="list_skills"), no_cache=True)
CREATE = RouteCall(Operation.parse(tool="create_record", arguments={"name": "x"}))
FINANCE = RouteCall(Operation.parse(query="expenses", context={"finance-ssc": True}))


@dataclass
class Core:
    service: CoordinatorService
    clock: ManualClock
    prod: ScriptedTarget
    lab: ScriptedTarget
    cache: ResponseCache
    slept: list[float] = field(default_factory=list)


def outcomes(result: Any) -> list[tuple[str, str]]:
    return [(a.target, a.outcome) for a in result.attempts]


async def make_core(
    *,
    prod_group: str | None = None,
    lab_group: str | None = None,
    attempt_timeout: float = 0.05,
    **options: Any,
) -> AsyncIterator[Core]:
    """`attempt_timeout`: real seconds (a hanging target times out after it)."""
    prod = ScriptedTarget("odoo_prod", group=prod_group, timeout=attempt_timeout)
    lab = ScriptedTarget("odoo_lab", group=lab_group, timeout=attempt_timeout)
    retry_policy = options.pop("retry_policy", None)
    settings = Settings(
        targets=(prod.config, lab.config),
        default_target="odoo_prod",
        failover_order=("odoo_prod", "odoo_lab"),
        **options,
    )
    clock = ManualClock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with prod, lab, open_cache(None, ttl=10, clock=clock) as cache:
        await prod.list_tools()  # as the coordinator's warm-up does
        await lab.list_tools()
        service = CoordinatorService(
            settings,
            {"odoo_prod": prod, "odoo_lab": lab},
            cache=cache,
            retry_policy=retry_policy,
            clock=clock,
            sleep=sleep,
            rng=lambda: 1.0,
        )
        yield Core(service, clock, prod, lab, cache, slept)


@pytest.fixture
async def core() -> AsyncIterator[Core]:
    async for item in make_core():
        yield item


async def open_prod_breaker(core: Core) -> None:
    core.prod.behaviour = "refuse"
    pinned = RouteCall(Operation.parse(tool="list_skills"), target="odoo_prod", no_cache=True)
    for _ in range(5):
        with pytest.raises(CoordinatorError):
            await core.service.route(pinned, CTX)
    assert core.service.status().targets["odoo_prod"].circuit == "open"


# -- failover --------------------------------------------------------------------------------


async def test_a_refused_read_fails_over_after_a_jittered_backoff(core: Core) -> None:
    core.prod.behaviour = "refuse"
    result = await core.service.route(SKILLS, CTX)
    assert (result.target, result.failover) == ("odoo_lab", True)
    assert outcomes(result) == [("odoo_prod", "unavailable"), ("odoo_lab", "ok")]
    assert result.reason == "Default target odoo_prod; odoo_prod unavailable; answered by odoo_lab"
    assert core.slept == [0.005]  # RetryPolicy.initial_backoff, times rng() = 1.0


async def test_a_hanging_read_times_out_per_try_and_moves_on(core: Core) -> None:
    core.prod.behaviour = "hang"
    result = await core.service.route(SKILLS, CTX)
    assert outcomes(result) == [("odoo_prod", "timeout"), ("odoo_lab", "ok")]


async def test_a_write_refused_by_its_target_never_reaches_another_group(core: Core) -> None:
    core.prod.behaviour = "refuse"
    with pytest.raises(CoordinatorError) as raised:
        await core.service.route(CREATE, CTX)
    assert raised.value.code is ErrorCode.UNAVAILABLE
    assert raised.value.message.startswith("target odoo_prod is unavailable")
    assert "create_record" not in core.lab.tool_calls


async def test_a_write_refused_by_its_target_moves_on_to_a_replica() -> None:
    async for core in make_core(prod_group="odoo", lab_group="odoo"):
        core.prod.behaviour = "refuse"
        result = await core.service.route(CREATE, CTX)
        assert (result.target, result.failover) == ("odoo_lab", True)
        assert core.lab.tool_calls == ["create_record"]


async def test_a_write_that_may_have_run_is_never_repeated(core: Core) -> None:
    core.prod.behaviour = "reset"
    async for replicas in make_core(prod_group="odoo", lab_group="odoo"):
        replicas.prod.behaviour = "reset"
        for item in (core, replicas):
            with pytest.raises(CoordinatorError) as raised:
                await item.service.route(CREATE, CTX)
            assert raised.value.message.startswith("outcome unknown: the call may have run")
            assert item.lab.tool_calls == []


async def test_an_mcp_error_is_an_answer_not_an_outage(core: Core) -> None:
    core.prod.behaviour = "mcp_error"
    with pytest.raises(CoordinatorError) as raised:
        await core.service.route(LIVE_SKILLS, CTX)
    assert raised.value.code is ErrorCode.INVALID_ARGUMENT
    assert core.lab.tool_calls == []
    assert core.service.status().targets["odoo_prod"].circuit == "closed"


async def test_an_undeliverable_answer_is_refused_and_not_tried_elsewhere(core: Core) -> None:
    deep: Any = "bottom"
    for _ in range(50):
        deep = [deep]
    core.prod.answer = {"structuredContent": {"deep": deep}}
    with pytest.raises(CoordinatorError) as raised:
        await core.service.route(SKILLS, CTX)
    assert raised.value.code is ErrorCode.OUT_OF_RANGE
    assert raised.value.metadata["target"] == "odoo_prod"
    assert core.lab.tool_calls == []
    assert core.cache.stats().misses == 1  # looked up once, never stored
    with pytest.raises(CoordinatorError):
        await core.service.route(SKILLS, CTX)
    assert len(core.prod.tool_calls) == 2


# -- retry budget and deadlines --------------------------------------------------------------


async def test_an_exhausted_retry_budget_stops_the_walk() -> None:
    policy = RetryPolicy(budget_ratio=0.0, min_concurrent_retries=0)
    async for core in make_core(retry_policy=policy):
        core.prod.behaviour = "refuse"
        with pytest.raises(CoordinatorError) as raised:
            await core.service.route(SKILLS, CTX)
        assert raised.value.code is ErrorCode.UNAVAILABLE
        assert "odoo_lab: retry budget exhausted" in raised.value.message
        assert core.lab.tool_calls == []


async def test_a_deadline_that_passed_before_any_attempt_is_deadline_exceeded(
    core: Core,
) -> None:
    expired = CallContext(door="grpc", method="/test/Route", deadline=time.monotonic())
    with pytest.raises(CoordinatorError) as raised:
        await core.service.route(SKILLS, expired)
    assert raised.value.code is ErrorCode.DEADLINE_EXCEEDED
    assert raised.value.message == (
        "deadline exceeded before any target answered (no target was tried)"
    )
    assert core.prod.tool_calls == []


async def hang_for(target: ScriptedTarget, clock: ManualClock, seconds: float) -> None:
    """Moves the clock by `seconds` once a call reaches `target`, as if it hung that long."""
    await target.call_arrived.wait()
    clock.advance(seconds)


async def test_a_deadline_shorter_than_the_backoff_cuts_the_backoff_to_what_is_left() -> None:
    policy = RetryPolicy(initial_backoff=100.0, max_backoff=100.0)
    async for core in make_core(retry_policy=policy, request_timeout=2.0):
        core.prod.behaviour = "refuse"  # refused at once: the clock has not moved
        result = await core.service.route(SKILLS, CTX)
        assert outcomes(result) == [("odoo_prod", "unavailable"), ("odoo_lab", "ok")]
        assert core.slept == [2.0]  # the 2 s left of the request's time, not the 100 s backoff


async def test_a_deadline_spent_by_a_hanging_target_ends_the_walk_there() -> None:
    async for core in make_core(request_timeout=1.0):
        core.prod.behaviour = "hang"

        mover = asyncio.create_task(hang_for(core.prod, core.clock, 1.0))
        with pytest.raises(CoordinatorError) as raised:
            await core.service.route(SKILLS, CTX)
        await mover
        assert raised.value.code is ErrorCode.DEADLINE_EXCEEDED
        assert raised.value.message.startswith(
            "deadline exceeded before any target answered (odoo_prod: odoo_prod: timeout"
        )
        assert core.lab.tool_calls == []  # no time was left to ask it


async def test_when_every_target_hangs_each_times_out_and_the_error_names_them(core: Core) -> None:
    core.prod.behaviour = "hang"
    core.lab.behaviour = "hang"
    with pytest.raises(CoordinatorError) as raised:
        await core.service.route(SKILLS, CTX)
    assert raised.value.code is ErrorCode.UNAVAILABLE
    assert raised.value.message.startswith("no target could answer (odoo_prod: odoo_prod: timeout")


# -- the breaker -----------------------------------------------------------------------------


async def test_an_open_breaker_skips_the_target_until_its_trial_succeeds(core: Core) -> None:
    await open_prod_breaker(core)
    calls = len(core.prod.calls)
    result = await core.service.route(LIVE_SKILLS, CTX)
    assert outcomes(result) == [("odoo_prod", "skipped"), ("odoo_lab", "ok")]
    assert result.reason.endswith("odoo_prod circuit open; answered by odoo_lab")
    assert len(core.prod.calls) == calls  # not even tried
    core.prod.behaviour = "answer"
    core.clock.advance(30)
    trial = await core.service.route(LIVE_SKILLS, CTX)
    assert outcomes(trial) == [("odoo_prod", "ok")]
    assert core.service.status().targets["odoo_prod"].circuit == "closed"


async def test_a_failed_trial_doubles_the_wait_and_late_failures_do_not() -> None:
    # A hanging call times out after 0.5 s of real time: long enough to trip the breaker
    # and move the clock past the wait before it does.
    async for core in make_core(attempt_timeout=0.5):
        await check_trial_and_late_failure(core)


async def check_trial_and_late_failure(core: Core) -> None:
    pinned = RouteCall(Operation.parse(tool="list_skills"), target="odoo_prod", no_cache=True)
    core.prod.behaviour = "hang"
    core.prod.call_arrived.clear()
    # A write, so that the reads below are not coalesced with it.
    slow_write = RouteCall(CREATE.operation, target="odoo_prod")
    late = asyncio.create_task(core.service.route(slow_write, CTX))  # started before the trip
    await asyncio.wait_for(core.prod.call_arrived.wait(), 5)
    core.clock.advance(1)
    await open_prod_breaker(core)
    core.clock.advance(30)  # the wait is over; no trial has been claimed yet
    assert not late.done()
    with pytest.raises(CoordinatorError):
        await late  # it times out now, after the wait: it says nothing new about the target
    assert core.service.status().targets["odoo_prod"].circuit == "half_open"
    with pytest.raises(CoordinatorError):
        await core.service.route(pinned, CTX)  # the trial fails
    core.clock.advance(59)
    assert core.service.status().targets["odoo_prod"].circuit == "open"
    core.clock.advance(1)
    assert core.service.status().targets["odoo_prod"].circuit == "half_open"


async def test_a_cancelled_trial_gives_the_trial_back(core: Core) -> None:
    await open_prod_breaker(core)
    core.clock.advance(30)
    core.prod.behaviour = "hang"
    pinned = RouteCall(Operation.parse(tool="list_skills"), target="odoo_prod", no_cache=True)
    core.prod.call_arrived.clear()
    call = asyncio.create_task(core.service.route(pinned, CTX))
    await asyncio.wait_for(core.prod.call_arrived.wait(), 5)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    report = core.service.status().targets["odoo_prod"]
    assert (report.circuit, report.in_flight) == ("half_open", 0)
    core.prod.behaviour = "answer"
    assert outcomes(await core.service.route(pinned, CTX)) == [("odoo_prod", "ok")]


# -- the cache in an outage ------------------------------------------------------------------


async def test_a_fresh_cached_answer_serves_while_the_breaker_is_open(core: Core) -> None:
    first = await core.service.route(FINANCE, CTX)
    await open_prod_breaker(core)
    again = await core.service.route(FINANCE, CTX)
    assert (again.target, again.cached, again.failover, again.stale) == (
        "odoo_prod",
        True,
        False,
        False,
    )
    assert again.data == first.data


async def test_stale_if_error_reaches_skipped_targets_and_never_with_no_cache(core: Core) -> None:
    await core.service.route(FINANCE, CTX)
    await open_prod_breaker(core)
    core.clock.advance(11)  # expired, within its grace period; the breaker waits 30 s
    stale = await core.service.route(FINANCE, CTX)
    assert (stale.target, stale.cached, stale.stale) == ("odoo_prod", True, True)
    assert outcomes(stale) == [("odoo_prod", "skipped"), ("odoo_prod", "cached")]
    no_cache = RouteCall(FINANCE.operation, no_cache=True)
    with pytest.raises(CoordinatorError) as raised:
        await core.service.route(no_cache, CTX)
    assert raised.value.code is ErrorCode.UNAVAILABLE
    assert core.cache.stats().stale == 1


async def test_concurrent_identical_reads_make_one_call() -> None:
    async for core in make_core(
        attempt_timeout=30
    ):  # the held call must not time out on a busy machine
        core.prod.behaviour = "hang"
        calls = [asyncio.create_task(core.service.route(SKILLS, CTX)) for _ in range(5)]
        await asyncio.wait_for(core.prod.call_arrived.wait(), 5)
        await asyncio.sleep(0)  # the other four reach the coalescer
        core.prod.released.set()
        results = await asyncio.gather(*calls)
        assert core.prod.tool_calls == ["list_skills"]
        assert {r.target for r in results} == {"odoo_prod"}
        assert core.cache.stats().coalesced == 4


async def test_the_breaker_follows_the_configured_policy() -> None:
    breaker = {"failure_threshold": 2, "open_seconds": 5.0, "max_open_seconds": 5.0}
    async for core in make_core(breaker=breaker):
        core.prod.behaviour = "refuse"
        pinned = RouteCall(Operation.parse(tool="list_skills"), target="odoo_prod", no_cache=True)
        for _ in range(2):
            with pytest.raises(CoordinatorError):
                await core.service.route(pinned, CTX)
        assert core.service.status().targets["odoo_prod"].circuit == "open"
        core.clock.advance(5)
        assert core.service.status().targets["odoo_prod"].circuit == "half_open"


# -- answers past the limits -----------------------------------------------------------------


async def test_an_answer_past_the_limits_is_an_undeliverable_attempt_on_route_and_aggregate(
    core: Core,
) -> None:
    too_deep: Any = "leaf"
    for _ in range(MAX_ANSWER_DEPTH + 1):
        too_deep = {"k": too_deep}
    core.prod.answer = {"structuredContent": too_deep}
    trace = RequestTrace()
    with pytest.raises(CoordinatorError) as refused:
        await core.service.route(LIVE_SKILLS, CTX, trace)
    assert refused.value.code is ErrorCode.OUT_OF_RANGE
    assert [(a.target, a.outcome) for a in trace.attempts] == [("odoo_prod", "undeliverable")]
    assert core.prod.tool_calls == ["list_skills"]  # ran once, not repeated on the lab

    asked = RequestTrace()
    both = await core.service.aggregate(
        AggregateCall(Operation.parse(tool="list_skills")), CTX, asked
    )
    assert ("odoo_prod", "undeliverable") in [(a.target, a.outcome) for a in asked.attempts]
    assert both.errors["odoo_prod"].code is ErrorCode.OUT_OF_RANGE
    assert "the call ran on odoo_prod" in both.errors["odoo_prod"].message
    assert set(both.results) == {"odoo_lab"}
