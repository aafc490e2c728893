"""The core: route, aggregate, health and status, in the coordinator's own types.

Every door (gRPC, REST) ends here through `coordinator.rpc`. For each request
the service asks the pure routing policy for candidates, then walks them inside
the call's deadline: each attempt gets a per-try timeout, answers of read-only
operations come from the cache (identical misses coalesced), a failed attempt
moves on only when that is safe (`coordinator.retry`), and when every target
fails an expired cached answer may still be served (stale-if-error).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from coordinator import __version__, tracing
from coordinator.answers import UNDELIVERABLE_REASONS, check_deliverable
from coordinator.auth import RefusedKey
from coordinator.breaker import CircuitBreaker, CircuitState
from coordinator.cache import (
    CacheEntry,
    CacheStats,
    ResponseCache,
    cache_key,
    cacheable,
    storable,
)
from coordinator.calls import CallContext
from coordinator.config import Settings
from coordinator.errors import (
    ATTEMPT_FAILURE_CODES,
    MCP_ERROR_CODES,
    CoordinatorError,
    ErrorCode,
    invalid_argument,
)
from coordinator.operations import Operation
from coordinator.retry import (
    REPEATABLE_METHODS,
    RetryBudget,
    RetryPolicy,
    backoff_seconds,
    jitter,
    may_move_on,
)
from coordinator.routing import Decision, RoutingPolicy, RoutingRequest
from coordinator.stats import TargetStats
from coordinator.targets import McpErrorResponse, Target, TargetTimeout, TargetUnavailable, ToolInfo

log = logging.getLogger(__name__)


# What one attempt on one target came to (Attempt.outcome in the proto):
# ok, error_result (a tool result with isError), cached, skipped (not tried: why is in `error`),
# timeout, unavailable, overloaded (the target's cap), unknown (may have run; not repeated),
# mcp_error (an MCP error answer), undeliverable (it ran and answered past the answer limits).
AttemptOutcome = Literal[
    "ok",
    "error_result",
    "cached",
    "skipped",
    "timeout",
    "unavailable",
    "overloaded",
    "unknown",
    "mcp_error",
    "undeliverable",
]


@dataclass(frozen=True, slots=True)
class Attempt:
    target: str
    outcome: AttemptOutcome
    latency_ms: float
    error: str = ""


@dataclass(frozen=True, slots=True)
class RouteCall:
    operation: Operation
    target: str = ""
    allow_failover: bool = False
    no_cache: bool = False


@dataclass(frozen=True, slots=True)
class RouteResult:
    data: Any
    target: str
    reason: str
    confidence: float
    rule: str
    failover: bool
    cached: bool
    attempts: tuple[Attempt, ...]
    stale: bool = False


@dataclass(frozen=True, slots=True)
class AggregateCall:
    operation: Operation
    targets: tuple[str, ...] = ()
    no_cache: bool = False


@dataclass(frozen=True, slots=True)
class TargetFailure:
    code: ErrorCode
    message: str


@dataclass(frozen=True, slots=True)
class AggregateResult:
    query: str
    results: Mapping[str, Any]
    errors: Mapping[str, TargetFailure]
    targets: tuple[str, ...]
    elapsed_ms: float


@dataclass(frozen=True, slots=True)
class HealthInfo:
    status: str
    version: str
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TargetReport:
    transport: str
    healthy: bool
    health_reason: str
    circuit: CircuitState
    requests: int
    errors: int
    failovers: int
    in_flight: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    last_error: str
    protocol_version: str
    tools: int


@dataclass(frozen=True, slots=True)
class StatusInfo:
    version: str
    uptime_seconds: float
    targets: Mapping[str, TargetReport]
    cache: CacheStats | None


@dataclass(slots=True)
class RequestTrace:
    """What happened to one request, filled in by the service as it goes, so the
    caller can record it even when the request fails."""

    operation: str = ""
    kind: str = ""
    target: str = ""
    rule: str = ""
    reason: str = ""
    confidence: float = 0.0
    cached: bool = False
    stale: bool = False
    failover: bool = False
    failover_from: str = ""  # the first candidate, when another one answered
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(slots=True)
class _TargetState:
    target: Target
    breaker: CircuitBreaker
    per_try_timeout: float
    max_in_flight: int
    stats: TargetStats = field(default_factory=TargetStats)
    in_flight: int = 0
    probe_reason: str = ""  # non-empty while health probes say unhealthy


@dataclass(frozen=True, slots=True)
class _Plan:
    """One operation made concrete for one target."""

    method: str
    params: dict[str, Any]
    read_only: bool
    cache_key: str | None


class _NoAnswer(Exception):
    """A target gave no answer: the request may try the next candidate, unless the
    attempt's outcome is "unknown" (the call may have run and changes data).

    Raised inside one attempt (`_plan`, `_call_target`), and handed to `_route` and
    `_ask_one` as a value by `_traced_attempt`, so that they read as a walk over
    candidates and outcomes, not as exception handling.
    """

    def __init__(self, attempt: Attempt, *, timed_out: bool = False) -> None:
        self.attempt = attempt
        self.timed_out = timed_out


class CoordinatorService:
    """Routes and aggregates over a fixed set of entered (connected) targets."""

    def __init__(
        self,
        settings: Settings,
        targets: Mapping[str, Target],
        *,
        cache: ResponseCache | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = jitter,
    ) -> None:
        self.settings = settings
        self._cache = cache
        self._retry_policy = retry_policy or settings.retry.policy()
        self._retry_budget = RetryBudget(self._retry_policy)
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._started = clock()
        self._draining = False
        self._in_flight = 0
        self._targets = {
            name: _TargetState(
                target,
                CircuitBreaker(settings.breaker.policy(), clock=clock),
                per_try_timeout=target.config.timeout or settings.per_try_timeout,
                max_in_flight=target.config.max_in_flight,
            )
            for name, target in targets.items()
            if target.config.enabled
        }
        self.policy = RoutingPolicy(
            settings.target_names,
            default_target=settings.default_target,
            failover_order=settings.failover_order,
            context_rules=settings.context_rules,
            query_rules=settings.query_rules,
            groups=settings.groups,
            disabled=[t.name for t in settings.targets if not t.enabled],
        )

    # -- lifecycle and probes ------------------------------------------------------

    def start_draining(self) -> None:
        """Health turns NOT_SERVING and new calls are refused; in-flight calls go on."""
        self._draining = True

    def on_probe(self, name: str, healthy: bool, reason: str) -> None:
        """Health-probe verdicts: skip an unhealthy target; a recovered one gets a trial call."""
        state = self._targets.get(name)
        if state is None:
            return  # disabled targets are not probed
        state.probe_reason = "" if healthy else reason
        if healthy:
            state.breaker.probe_succeeded()

    def on_probe_reached(self, name: str) -> None:
        """A health probe reached target `name`: if its breaker is open (calls failed while
        probes kept passing), the next call goes through as a trial."""
        state = self._targets.get(name)
        if state is not None:
            state.breaker.probe_succeeded()

    def is_reachable(self, name: str) -> bool:
        """False while health probes say target `name` is down, its breaker is open, or it
        is disabled."""
        state = self._targets.get(name)
        return state is not None and not _why_unavailable(state)

    # -- Route -----------------------------------------------------------------------

    async def route(
        self, call: RouteCall, ctx: CallContext, trace: RequestTrace | None = None
    ) -> RouteResult:
        trace = trace if trace is not None else RequestTrace()
        with self._admitted():
            return await self._route(call, ctx, trace)

    async def _route(self, call: RouteCall, ctx: CallContext, trace: RequestTrace) -> RouteResult:
        """Walks the policy's chain in order: for each target, a skip (unhealthy,
        disabled, or other data for a call that may change data), a cached answer,
        or a live attempt; the first answer wins. Then stale-if-error, then the error."""
        deadline = self._deadline(ctx)
        operation = call.operation
        trace.operation, trace.kind = operation.label, operation.kind
        decision = self.policy.decide(
            RoutingRequest(
                target=call.target or None,
                allow_failover=call.allow_failover,
                context=operation.context,
                query=operation.query or None,
                tool=operation.called_tool,
            ),
            unhealthy=self._unhealthy(),
            tool_owners=self._tool_owners(operation.called_tool),
        )
        trace.rule, trace.reason, trace.confidence = (
            decision.rule,
            decision.reason,
            decision.confidence,
        )
        attempts = trace.attempts
        decision = _reachable_by_caller(decision, ctx)
        unhealthy = dict(decision.skipped)
        live_attempts = 0
        kept_in_group = False  # a target was passed over because it holds other data
        for name in decision.chain:
            if self._clock() >= deadline:
                break
            why_skipped = unhealthy.get(name)
            if why_skipped is not None:
                # A fresh cached answer of a read-only call still serves.
                data = await self._fresh_cached(name, operation, call.no_cache)
                if data is not None:
                    attempts.append(
                        Attempt(name, "cached", 0.0, f"{why_skipped}; answered from cache")
                    )
                    return self._answer(trace, decision, name, data, cached=True)
                attempts.append(Attempt(name, "skipped", 0.0, why_skipped))
                continue
            other_data = self._other_data(decision, name)
            if other_data:
                changes_data = await self._may_change_data(decision, name, operation, deadline)
                if isinstance(changes_data, _NoAnswer):  # no tool list: it cannot answer either
                    attempts.append(changes_data.attempt)
                    continue
                if changes_data:
                    attempts.append(Attempt(name, "skipped", 0.0, other_data))
                    kept_in_group = True
                    continue
            if live_attempts and not self._retry_budget.try_acquire(self._in_flight):
                attempts.append(Attempt(name, "skipped", 0.0, "retry budget exhausted"))
                break
            retry_number, live_attempts = live_attempts, live_attempts + 1
            started = self._clock()
            try:
                if retry_number:
                    await self._backoff(retry_number, deadline)
                tried = await self._traced_attempt(name, operation, call.no_cache, deadline)
            except CoordinatorError as error:  # it answered: an MCP error, or past the limits
                outcome = _refused_outcome(error)
                attempts.append(Attempt(name, outcome, self._ms_since(started), error.message))
                raise
            finally:
                if retry_number:
                    self._retry_budget.release()
            if isinstance(tried, _NoAnswer):
                attempts.append(tried.attempt)
                if tried.attempt.outcome == "unknown":
                    raise _outcome_unknown(tried)
                continue
            data, attempt = tried
            attempts.append(attempt)
            return self._answer(trace, decision, name, data, cached=attempt.outcome == "cached")
        entry = None if call.no_cache else await self._stale_answer(decision, operation)
        if entry is not None:
            # Fresh when another replica refreshed it meanwhile.
            why = "stale: every target failed" if entry.stale else "every target failed"
            attempts.append(Attempt(entry.target, "cached", 0.0, why))
            return self._answer(
                trace, decision, entry.target, entry.value, cached=True, stale=entry.stale
            )
        raise self._no_answer(decision, attempts, deadline, kept_in_group=kept_in_group)

    def _answer(
        self,
        trace: RequestTrace,
        decision: Decision,
        name: str,
        data: Any,
        *,
        cached: bool,
        stale: bool = False,
    ) -> RouteResult:
        primary = decision.primary
        failover = primary is not None and name != primary
        reason = decision.reason
        if failover and primary is not None:
            if primary in self._targets:
                self._targets[primary].stats.failovers += 1
            trace.failover_from = primary
            why = next((_why_not(a) for a in trace.attempts if a.target == primary), "failed")
            reason = f"{decision.reason}; {primary} {why}; answered by {name}"
        trace.target, trace.cached, trace.stale, trace.failover = name, cached, stale, failover
        trace.reason = reason
        return RouteResult(
            data=data,
            target=name,
            reason=reason,
            confidence=decision.confidence,
            rule=decision.rule,
            failover=failover,
            cached=cached,
            attempts=tuple(trace.attempts),
            stale=stale,
        )

    def _other_data(self, decision: Decision, name: str) -> str:
        """Why `name` holds other data than the policy's first choice, or ""."""
        primary = decision.primary
        if primary is None or self.policy.group_of(name) == self.policy.group_of(primary):
            return ""
        return (
            f"holds other data than {primary} (group {self.policy.group_of(primary)}),"
            " and the call may change data"
        )

    async def _may_change_data(
        self, decision: Decision, name: str, operation: Operation, deadline: float
    ) -> bool | _NoAnswer:
        """Whether the call may change data, judged on every tool list at hand:
        the first choice's (when known) and `name`'s. Fails closed."""
        verdicts = []
        primary = decision.primary
        if primary in self._targets:
            target = self._targets[primary].target
            if target.tools_cached is not None:
                verdicts.append(self._plan_with(target, operation, target.tools_cached).read_only)
        state = self._targets[name]
        timeout = min(state.per_try_timeout, max(0.0, deadline - self._clock()))
        try:
            verdicts.append((await self._plan(state, operation, timeout, self._clock())).read_only)
        except _NoAnswer as no_answer:
            return no_answer
        return not all(verdicts)

    def _known_cache_key(self, name: str, operation: Operation) -> str | None:
        """The cache key of `operation` on target `name`, from its tool list as last
        fetched (no I/O); None when the answer is not cacheable or `name` is disabled."""
        state = self._targets.get(name)
        if state is None or self._cache is None:
            return None
        target = state.target
        return self._plan_with(target, operation, target.tools_cached or {}).cache_key

    async def _fresh_cached(self, name: str, operation: Operation, no_cache: bool) -> Any:
        """The fresh cached answer of `name` for a read-only `operation`, or None."""
        key = None if no_cache else self._known_cache_key(name, operation)
        if key is None or self._cache is None:
            return None
        entry = await self._cache.get(key)
        return None if entry is None else entry.value

    async def _traced_attempt(
        self, name: str, operation: Operation, no_cache: bool, deadline: float
    ) -> tuple[Any, Attempt] | _NoAnswer:
        """One target's answer (live or cached) and the attempt that got it, or why there
        is none; the attempt runs inside its client span (coordinator.tracing). Raises
        `CoordinatorError` when the target answered with an MCP error or an answer that
        cannot be delivered."""
        state = self._targets[name]
        if not state.breaker.is_available():  # not called: no client span
            return _NoAnswer(Attempt(name, "skipped", 0.0, "circuit open"))
        target = state.target
        with tracing.attempt_span(
            name,
            target.transport,
            operation,
            target.config.query_tool,
            url=target.config.url,
            protocol_version=target.protocol_version,
        ) as span:
            try:
                data, attempt = await self._attempt(state, operation, no_cache, deadline)
            except _NoAnswer as no_answer:
                span.finished(no_answer.attempt)
                return no_answer
            span.finished(attempt)
            return data, attempt

    async def _attempt(
        self, state: _TargetState, operation: Operation, no_cache: bool, deadline: float
    ) -> tuple[Any, Attempt]:
        """Raises `_NoAnswer` when the target gave no answer."""
        name = state.target.name
        # Only a call that reaches the target claims a half-open breaker's trial
        # (in `_call_target`): a cache hit or a coalesced wait has no outcome to report.
        timeout = min(state.per_try_timeout, max(0.0, deadline - self._clock()))
        started = self._clock()
        plan = await self._plan(state, operation, timeout, started)
        if plan.cache_key is not None and self._cache is not None:
            if not no_cache:
                entry = await self._cache.get(plan.cache_key)
                if entry is not None:
                    return entry.value, Attempt(name, "cached", self._ms_since(started))
            # Coalesced waiters do not call the target, so they take no slot of its cap.
            fetch = self._fetch_and_store(state, plan, timeout, started)
            data = await self._cache.coalesce(plan.cache_key, fetch)
        else:
            data = await self._call_target(state, plan, timeout, started)
        return data, Attempt(name, _outcome_of(data), self._ms_since(started))

    def _ms_since(self, started: float) -> float:
        return (self._clock() - started) * 1000

    def _fetch_and_store(
        self, state: _TargetState, plan: _Plan, timeout: float, started: float
    ) -> Callable[[], Awaitable[Any]]:
        async def fetch() -> Any:
            data = await self._call_target(state, plan, timeout, started)
            if self._cache is not None and plan.cache_key is not None and storable(data):
                await self._cache.put(plan.cache_key, value=data, target=state.target.name)
            return data

        return fetch

    async def _plan(
        self, state: _TargetState, operation: Operation, budget: float, started: float
    ) -> _Plan:
        target = state.target
        tools: Mapping[str, ToolInfo] = {}
        if operation.kind == "query" or operation.called_tool is not None:
            # The tool list says whether the query tool takes `context` and which
            # tools are read-only. The target keeps it (no I/O while it is fresh)
            # and refetches it after its TTL or a tools/list_changed notification.
            try:
                tools = await target.list_tools(timeout=budget)
            except TargetUnavailable as exc:
                self._settle(state, started, answered=False, error=str(exc))
                raise self._no_answer_from(state, exc, started, read_only=True) from None
            except McpErrorResponse:
                pass  # tools/list failed on the target's side: plan without schemas
        return self._plan_with(target, operation, tools)

    def _plan_with(
        self, target: Target, operation: Operation, tools: Mapping[str, ToolInfo]
    ) -> _Plan:
        """The plan for `operation` on `target`, given its tool list (no I/O)."""
        name = target.config.query_tool if operation.kind == "query" else operation.called_tool
        tool = tools.get(name) if name is not None else None
        method, params = operation.to_mcp(target.config.query_tool, tool)
        read_only = method in REPEATABLE_METHODS or (
            method == "tools/call" and tool is not None and tool.read_only
        )
        key = None
        if self._cache is not None and cacheable(method, params, tool):
            key = cache_key(namespace="resp", target=target.name, method=method, params=params)
        return _Plan(method, params, read_only, key)

    async def _call_target(
        self, state: _TargetState, plan: _Plan, budget: float, started: float
    ) -> Any:
        """Calls the target with what is left of the attempt's `budget` (seconds)."""
        name = state.target.name
        if state.in_flight >= state.max_in_flight:
            raise _NoAnswer(
                Attempt(name, "overloaded", 0.0, f"{state.max_in_flight} calls already in flight")
            )
        trial = state.breaker.state == "half_open"
        if not state.breaker.allows_request():
            raise _NoAnswer(Attempt(name, "skipped", 0.0, "circuit open"))
        remaining = max(0.001, budget - (self._clock() - started))
        answered: bool | None = None  # the target's verdict; None: cancelled before one
        error = ""
        state.in_flight += 1  # no await between the check and this: the cap holds under races
        try:
            data = await state.target.request(plan.method, plan.params, timeout=remaining)
            answered = True
        except TargetUnavailable as exc:
            answered, error = False, str(exc)
            raise self._no_answer_from(state, exc, started, read_only=plan.read_only) from None
        except McpErrorResponse as exc:
            answered = True  # an MCP error is a result, not an outage
            raise _mcp_error(name, exc) from None
        finally:
            state.in_flight -= 1
            self._settle(state, started, answered=answered, error=error, trial=trial)
        # Checked before the answer is cached or converted: past the limits no door could
        # deliver it, and since the call ran it must not be repeated elsewhere.
        check_deliverable(name, data, max_bytes=self.settings.max_answer_bytes)
        return data

    def _settle(
        self,
        state: _TargetState,
        started: float,
        *,
        answered: bool | None,
        error: str = "",
        trial: bool = False,
    ) -> None:
        """The one place a call's outcome reaches the target's breaker and stats: it
        answered (a result or an MCP error), it failed, or (None) it was cancelled before
        either, which gives a claimed half-open trial back."""
        breaker = state.breaker
        if answered is None:
            if trial:
                breaker.release_probe()
            return
        state.stats.record(self._ms_since(started), None if answered else error)
        if answered:
            breaker.record_success()
            return
        was_closed = breaker.state == "closed"
        breaker.record_failure(trial=trial, started_at=started)
        if was_closed and breaker.state == "open":
            log.warning(
                "target %s: circuit opened after repeated failures (%s)", state.target.name, error
            )

    def _no_answer_from(
        self, state: _TargetState, exc: TargetUnavailable, started: float, *, read_only: bool
    ) -> _NoAnswer:
        name = state.target.name
        elapsed = self._ms_since(started)
        timeout = isinstance(exc, TargetTimeout)
        outcome: AttemptOutcome
        if not may_move_on(may_have_run=exc.may_have_run, read_only=read_only):
            outcome = "unknown"
        else:
            outcome = "timeout" if timeout else "unavailable"
        return _NoAnswer(Attempt(name, outcome, elapsed, str(exc)), timed_out=timeout)

    async def _backoff(self, retry_number: int, deadline: float) -> None:
        delay = backoff_seconds(self._retry_policy, retry_number, self._rng)
        delay = min(delay, max(0.0, deadline - self._clock()))
        if delay > 0:
            await self._sleep(delay)

    async def _stale_answer(self, decision: Decision, operation: Operation) -> CacheEntry | None:
        """An expired cached answer of any target the policy chose, unhealthy ones included."""
        for name in decision.chain:
            key = self._known_cache_key(name, operation)
            if key is None or self._cache is None:
                continue
            entry = await self._cache.get_stale(key)
            if entry is not None:
                return entry
        return None

    def _no_answer(
        self,
        decision: Decision,
        attempts: Sequence[Attempt],
        deadline: float,
        *,
        kept_in_group: bool = False,
    ) -> CoordinatorError:
        tried = "; ".join(f"{a.target}: {a.error or a.outcome}" for a in attempts)
        tried = tried or "no target was tried"
        if all(a.outcome == "overloaded" for a in attempts) and attempts:
            return CoordinatorError(
                ErrorCode.RESOURCE_EXHAUSTED, f"every target is at capacity ({tried})"
            )
        if self._clock() >= deadline and (
            not attempts or any(a.outcome != "skipped" for a in attempts)
        ):
            return CoordinatorError(
                ErrorCode.DEADLINE_EXCEEDED,
                f"deadline exceeded before any target answered ({tried})",
            )
        primary = decision.primary or "-"
        if not decision.fallback:
            if decision.rule != "explicit":
                group = self.policy.group_of(primary)
                why = f"{decision.reason}; no fallback outside group {group}"
            elif decision.reason == f"Explicit target {primary}":
                why = "the request is pinned to it"
            else:  # allow_failover, narrowed by a no-fallback rule
                why = decision.reason

            return CoordinatorError(
                ErrorCode.UNAVAILABLE, f"target {primary} is unavailable ({tried}); {why}"
            )
        if kept_in_group:
            return CoordinatorError(
                ErrorCode.UNAVAILABLE,
                f"target {primary} is unavailable ({tried}); the call may change data, so it"
                f" is not answered by a target holding other data than {primary}",
            )
        return CoordinatorError(ErrorCode.UNAVAILABLE, f"no target could answer ({tried})")

    # -- Aggregate ------------------------------------------------------------------

    async def aggregate(
        self, call: AggregateCall, ctx: CallContext, trace: RequestTrace | None = None
    ) -> AggregateResult:
        trace = trace if trace is not None else RequestTrace()
        with self._admitted():
            if not self.settings.enable_aggregation:
                raise CoordinatorError(
                    ErrorCode.FAILED_PRECONDITION,
                    "aggregation is disabled (ENABLE_AGGREGATION=false)",
                )
            names = self.aggregate_targets(call.targets, ctx)
            trace.operation, trace.kind = call.operation.label, call.operation.kind
            trace.rule = "aggregate"
            deadline = self._deadline(ctx)
            started = self._clock()
            # gather: a cancelled caller cancels every branch.
            outcomes = await asyncio.gather(
                *(self._ask_one(name, call, deadline) for name in names)
            )
            results: dict[str, Any] = {}
            errors: dict[str, TargetFailure] = {}
            for name, (outcome, attempt) in zip(names, outcomes, strict=True):
                trace.attempts.append(attempt)
                if isinstance(outcome, TargetFailure):
                    errors[name] = outcome
                else:
                    results[name] = outcome
            trace.cached = any(a.outcome == "cached" for a in trace.attempts)
            return AggregateResult(
                query=call.operation.query or call.operation.label,
                results=results,
                errors=errors,
                targets=names,
                elapsed_ms=(self._clock() - started) * 1000,
            )

    def aggregate_targets(self, requested: Sequence[str], ctx: CallContext) -> tuple[str, ...]:
        """The targets to ask: those named, else every enabled one the caller's key may reach
        (here, under every door, so no door can forget the key's target allowance)."""
        principal = ctx.principal
        if not requested:
            names = tuple(
                n for n in self.settings.target_names if n in self._targets and ctx.may_reach(n)
            )
            if not names and principal is not None:
                principal.require("aggregate", "(any configured target)")
            return names
        if principal is not None:
            for name in requested:
                principal.require("aggregate", name)
        known = self.settings.target_names
        unknown = [n for n in requested if n not in known]
        if unknown:
            raise invalid_argument(
                "targets", f"unknown targets {unknown}; known targets: {list(known)}"
            )
        disabled = [n for n in requested if n not in self._targets]
        if disabled:
            raise CoordinatorError(
                ErrorCode.FAILED_PRECONDITION,
                f"target {', '.join(disabled)} is disabled",
                field="targets",
            )
        return tuple(dict.fromkeys(requested))

    async def _ask_one(
        self, name: str, call: AggregateCall, deadline: float
    ) -> tuple[Any, Attempt]:
        why_skipped = _why_unavailable(self._targets[name])
        if why_skipped:
            # As in Route: a fresh cached answer of a read-only call still serves.
            data = await self._fresh_cached(name, call.operation, call.no_cache)
            if data is not None:
                return data, Attempt(name, "cached", 0.0, f"{why_skipped}; answered from cache")
            failure = TargetFailure(ErrorCode.UNAVAILABLE, f"{name}: {why_skipped}")
            return failure, Attempt(name, "skipped", 0.0, why_skipped)
        started = self._clock()
        try:
            tried = await self._traced_attempt(name, call.operation, call.no_cache, deadline)
        except CoordinatorError as error:
            attempt = Attempt(name, _refused_outcome(error), self._ms_since(started), error.message)
            return TargetFailure(error.code, error.message), attempt
        if isinstance(tried, _NoAnswer):
            attempt = tried.attempt
            code = ATTEMPT_FAILURE_CODES.get(attempt.outcome, ErrorCode.UNAVAILABLE)
            return TargetFailure(code, attempt.error or attempt.outcome), attempt
        return tried

    # -- Health and Status ---------------------------------------------------------

    def health(self) -> HealthInfo:
        return HealthInfo(
            status="draining" if self._draining else "ok",
            version=__version__,
            targets=self.settings.target_names,
        )

    def status(self) -> StatusInfo:
        reports = {}
        for name, state in self._targets.items():
            latency = state.stats.latency()
            tools = state.target.tools_cached
            circuit = state.breaker.state
            reason = state.probe_reason or ("" if circuit == "closed" else f"circuit {circuit}")
            reports[name] = TargetReport(
                transport=state.target.transport,
                healthy=not reason,
                health_reason=reason,
                circuit=circuit,
                requests=state.stats.requests,
                errors=state.stats.errors,
                failovers=state.stats.failovers,
                in_flight=state.in_flight,
                latency_p50_ms=latency.p50_ms,
                latency_p95_ms=latency.p95_ms,
                latency_p99_ms=latency.p99_ms,
                last_error=state.stats.last_error,
                protocol_version=state.target.protocol_version or "",
                tools=len(tools) if tools is not None else 0,
            )
        for config in self.settings.targets:
            if config.name not in self._targets:
                reports[config.name] = _disabled_report(config.transport)
        return StatusInfo(
            version=__version__,
            uptime_seconds=self._clock() - self._started,
            targets=reports,
            cache=self._cache.stats() if self._cache is not None else None,
        )

    # -- helpers ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _admitted(self) -> Iterator[None]:
        """Counts the request as in flight, or refuses it at once."""
        if self._draining:
            raise CoordinatorError(ErrorCode.UNAVAILABLE, "the coordinator is shutting down")
        if self._in_flight >= self.settings.max_in_flight:
            raise CoordinatorError(
                ErrorCode.RESOURCE_EXHAUSTED,
                f"overloaded: {self._in_flight} requests in flight; retry later",
            )
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1

    def _deadline(self, ctx: CallContext) -> float:
        if ctx.deadline is None:
            return self._clock() + self.settings.request_timeout
        # CallContext deadlines are on time.monotonic(); the injected clock may differ.
        return self._clock() + max(0.0, ctx.deadline - time.monotonic())

    def _unhealthy(self) -> dict[str, str]:
        return {
            name: why for name, state in self._targets.items() if (why := _why_unavailable(state))
        }

    def _tool_owners(self, tool: str | None) -> frozenset[str] | None:
        if tool is None:
            return None
        owners = set()
        for name, state in self._targets.items():
            tools = state.target.tools_cached
            if tools is None:
                return None  # not every list is known yet: do not guess
            if tool in tools:
                owners.add(name)
        return frozenset(owners)


def _mcp_error(target: str, exc: McpErrorResponse) -> CoordinatorError:
    code = MCP_ERROR_CODES.get(exc.code, ErrorCode.UNKNOWN)
    return CoordinatorError(code, f"{target} answered MCP error {exc.code}: {exc.message}")


def _reachable_by_caller(decision: Decision, ctx: CallContext) -> Decision:
    """The decision without the targets the caller's API key may not reach."""
    chain = tuple(name for name in decision.chain if ctx.may_reach(name))
    if len(chain) == len(decision.chain):
        return decision
    if not chain:
        raise RefusedKey(
            ErrorCode.PERMISSION_DENIED,
            f"API key {ctx.key_id!r} may not reach {', '.join(decision.chain)},"
            f" where this request routes ({decision.reason})",
            "target_not_allowed",
        )
    return dataclasses.replace(
        decision,
        chain=chain,
        skipped=tuple((name, why) for name, why in decision.skipped if name in chain),
    )


def _outcome_unknown(no_answer: _NoAnswer) -> CoordinatorError:
    attempt = no_answer.attempt
    code = ErrorCode.DEADLINE_EXCEEDED if no_answer.timed_out else ErrorCode.UNAVAILABLE
    return CoordinatorError(
        code,
        f"outcome unknown: the call may have run on {attempt.target} and changes data,"
        f" so it was not repeated elsewhere ({attempt.error})",
    )


def _refused_outcome(error: CoordinatorError) -> AttemptOutcome:
    """The outcome of an attempt the target answered but that gave no result."""
    return "undeliverable" if error.reason in UNDELIVERABLE_REASONS else "mcp_error"


def _why_unavailable(state: _TargetState) -> str:
    """Why the policy should skip this target now ("" when it may be tried)."""
    if state.probe_reason:
        return state.probe_reason
    return "" if state.breaker.is_available() else "circuit open"


def _disabled_report(transport: str) -> TargetReport:
    return TargetReport(
        transport=transport,
        healthy=False,
        health_reason="disabled",
        circuit="closed",
        requests=0,
        errors=0,
        failovers=0,
        in_flight=0,
        latency_p50_ms=0.0,
        latency_p95_ms=0.0,
        latency_p99_ms=0.0,
        last_error="",
        protocol_version="",
        tools=0,
    )


def _why_not(attempt: Attempt) -> str:
    """Why `attempt` did not answer, in a few words (for the decision's reason)."""
    if attempt.outcome == "skipped":
        return attempt.error or "skipped"
    return {"timeout": "timed out", "overloaded": "at capacity"}.get(
        attempt.outcome, attempt.outcome
    )


def _outcome_of(data: Any) -> AttemptOutcome:
    return "error_result" if isinstance(data, dict) and data.get("isError") is True else "ok"
