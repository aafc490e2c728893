"""The core: route, aggregate, health and status, in the coordinator's own types.

Every door (gRPC, REST, MCP) ends here through `coordinator.rpc`. The service
asks the pure routing policy for candidates, walks them with failover inside the
call's deadline, and translates target failures into `CoordinatorError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coordinator import __version__
from coordinator.breaker import CircuitBreaker, CircuitState
from coordinator.calls import CallContext
from coordinator.config import Settings
from coordinator.errors import CoordinatorError, ErrorCode, invalid_argument
from coordinator.operations import Operation
from coordinator.routing import Decision, RoutingPolicy, RoutingRequest
from coordinator.stats import TargetStats
from coordinator.targets import McpErrorResponse, Target, TargetTimeout, TargetUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attempt:
    target: str
    # "ok", "error_result", "mcp_error", "unavailable", "timeout" or "skipped".
    outcome: str
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
    circuit: CircuitState
    requests: int
    errors: int
    failovers: int
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
    cache_backend: str = "none"
    cache_hits: int = 0
    cache_misses: int = 0


@dataclass(slots=True)
class _TargetState:
    target: Target
    breaker: CircuitBreaker
    stats: TargetStats = field(default_factory=TargetStats)


class CoordinatorService:
    """Routes and aggregates over a fixed set of entered (connected) targets."""

    def __init__(
        self,
        settings: Settings,
        targets: Mapping[str, Target],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._started = clock()
        self._draining = False
        self._targets = {
            name: _TargetState(target, CircuitBreaker(clock=clock))
            for name, target in targets.items()
        }
        self.policy = RoutingPolicy(
            settings.target_names,
            default_target=settings.default_target,
            failover_order=settings.failover_order,
            context_rules=settings.context_rules,
            query_rules=settings.query_rules,
        )

    # -- lifecycle -----------------------------------------------------------------

    def start_draining(self) -> None:
        """Health turns NOT_SERVING and new calls are refused; in-flight calls go on."""
        self._draining = True

    @property
    def draining(self) -> bool:
        return self._draining

    # -- Route -----------------------------------------------------------------------

    async def route(self, call: RouteCall, ctx: CallContext) -> RouteResult:
        self._refuse_while_draining()
        deadline = self._deadline(ctx)
        operation = call.operation
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
        attempts = [Attempt(name, "skipped", 0.0, why) for name, why in decision.skipped]
        first = decision.candidates[0] if decision.candidates else None
        for name in decision.candidates:
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            state = self._targets[name]
            if not state.breaker.allows_request():
                attempts.append(Attempt(name, "skipped", 0.0, "circuit open"))
                continue
            started = self._clock()
            try:
                data = await self._call(state.target, operation, remaining)
            except TargetUnavailable as exc:
                elapsed = (self._clock() - started) * 1000
                outcome = "timeout" if isinstance(exc, TargetTimeout) else "unavailable"
                attempts.append(Attempt(name, outcome, elapsed, str(exc)))
                state.breaker.record_failure()
                state.stats.record(elapsed, str(exc))
                log.warning("target %s failed (%s): %s", name, outcome, exc)
                continue
            except McpErrorResponse as exc:
                # The target answered: an MCP error is a result, not an outage.
                elapsed = (self._clock() - started) * 1000
                state.breaker.record_success()
                state.stats.record(elapsed)
                raise _mcp_error(name, exc) from None
            elapsed = (self._clock() - started) * 1000
            state.breaker.record_success()
            state.stats.record(elapsed)
            outcome = "error_result" if _is_error_result(data) else "ok"
            attempts.append(Attempt(name, outcome, elapsed))
            if first is not None and name != first:
                self._targets[first].stats.failovers += 1
            return RouteResult(
                data=data,
                target=name,
                reason=decision.reason,
                confidence=decision.confidence,
                rule=decision.rule,
                failover=name != first,
                cached=False,
                attempts=tuple(attempts),
            )
        raise self._no_answer(decision, attempts, deadline)

    async def _call(self, target: Target, operation: Operation, remaining: float) -> Any:
        timeout = min(target.config.timeout, remaining)
        query_tool = None
        if operation.kind == "query" and operation.context:
            # Whether the query tool takes `context` is in its schema (cached list).
            tools = target.tools_cached
            if tools is None:
                started = self._clock()
                tools = await target.list_tools(timeout=timeout)
                timeout = max(0.001, timeout - (self._clock() - started))
            query_tool = tools.get(target.config.query_tool)
        method, params = operation.to_mcp(target.config.query_tool, query_tool)
        return await target.request(method, params, timeout=timeout)

    def _no_answer(
        self, decision: Decision, attempts: Sequence[Attempt], deadline: float
    ) -> CoordinatorError:
        tried = "; ".join(f"{a.target}: {a.error or a.outcome}" for a in attempts)
        if self._clock() >= deadline and any(a.outcome != "skipped" for a in attempts):
            return CoordinatorError(
                ErrorCode.DEADLINE_EXCEEDED,
                f"deadline exceeded before any target answered ({tried})",
            )
        if not decision.fallback:
            pinned = ", ".join(t for t, _ in decision.skipped) or ", ".join(
                a.target for a in attempts
            )
            why = (
                "the request is pinned to it"
                if decision.rule == "explicit"
                else (f"{decision.reason}; no fallback to another target")
            )
            return CoordinatorError(
                ErrorCode.UNAVAILABLE, f"target {pinned} is unavailable ({tried}); {why}"
            )
        return CoordinatorError(ErrorCode.UNAVAILABLE, f"no target could answer ({tried})")

    # -- Aggregate ------------------------------------------------------------------

    async def aggregate(self, call: AggregateCall, ctx: CallContext) -> AggregateResult:
        self._refuse_while_draining()
        if not self.settings.enable_aggregation:
            raise CoordinatorError(
                ErrorCode.FAILED_PRECONDITION, "aggregation is disabled (ENABLE_AGGREGATION=false)"
            )
        names = self._aggregate_targets(call.targets)
        deadline = self._deadline(ctx)
        started = self._clock()
        outcomes = await asyncio.gather(
            *(self._ask_one(name, call.operation, deadline) for name in names)
        )
        results: dict[str, Any] = {}
        errors: dict[str, TargetFailure] = {}
        for name, outcome in zip(names, outcomes, strict=True):
            if isinstance(outcome, TargetFailure):
                errors[name] = outcome
            else:
                results[name] = outcome
        label = call.operation.query or call.operation.label
        return AggregateResult(
            query=label,
            results=results,
            errors=errors,
            targets=names,
            elapsed_ms=(self._clock() - started) * 1000,
        )

    def _aggregate_targets(self, requested: Sequence[str]) -> tuple[str, ...]:
        enabled = tuple(n for n in self.settings.target_names if self.settings.target(n).enabled)
        if not requested:
            return enabled
        unknown = [n for n in requested if n not in self._targets]
        if unknown:
            raise invalid_argument(
                "targets", f"unknown targets {unknown}; known targets: {list(self._targets)}"
            )
        return tuple(dict.fromkeys(requested))

    async def _ask_one(self, name: str, operation: Operation, deadline: float) -> Any:
        state = self._targets[name]
        if not state.breaker.allows_request():
            return TargetFailure(ErrorCode.UNAVAILABLE, f"{name}: circuit open")
        remaining = deadline - self._clock()
        if remaining <= 0:
            return TargetFailure(ErrorCode.DEADLINE_EXCEEDED, f"{name}: deadline exceeded")
        started = self._clock()
        try:
            data = await self._call(state.target, operation, remaining)
        except TargetUnavailable as exc:
            state.breaker.record_failure()
            state.stats.record((self._clock() - started) * 1000, str(exc))
            code = (
                ErrorCode.DEADLINE_EXCEEDED
                if isinstance(exc, TargetTimeout)
                else ErrorCode.UNAVAILABLE
            )
            return TargetFailure(code, str(exc))
        except McpErrorResponse as exc:
            state.breaker.record_success()
            state.stats.record((self._clock() - started) * 1000)
            error = _mcp_error(name, exc)
            return TargetFailure(error.code, error.message)
        state.breaker.record_success()
        state.stats.record((self._clock() - started) * 1000)
        return data

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
            reports[name] = TargetReport(
                transport=state.target.transport,
                healthy=state.breaker.state == "closed",
                circuit=state.breaker.state,
                requests=state.stats.requests,
                errors=state.stats.errors,
                failovers=state.stats.failovers,
                latency_p50_ms=latency.p50_ms,
                latency_p95_ms=latency.p95_ms,
                latency_p99_ms=latency.p99_ms,
                last_error=state.stats.last_error,
                protocol_version=state.target.protocol_version or "",
                tools=len(tools) if tools is not None else 0,
            )
        return StatusInfo(
            version=__version__, uptime_seconds=self._clock() - self._started, targets=reports
        )

    # -- helpers ---------------------------------------------------------------------

    def _refuse_while_draining(self) -> None:
        if self._draining:
            raise CoordinatorError(ErrorCode.UNAVAILABLE, "the coordinator is shutting down")

    def _deadline(self, ctx: CallContext) -> float:
        default = self._clock() + self.settings.request_timeout
        if ctx.deadline is None:
            return default
        # CallContext deadlines are on time.monotonic(); the injected clock may differ.
        remaining = ctx.deadline - time.monotonic()
        return self._clock() + max(0.0, remaining)

    def _unhealthy(self) -> dict[str, str]:
        return {
            name: "circuit open"
            for name, state in self._targets.items()
            if not state.breaker.is_available()
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


_MCP_CODES = {
    -32700: ErrorCode.INVALID_ARGUMENT,  # parse error
    -32600: ErrorCode.INVALID_ARGUMENT,  # invalid request
    -32601: ErrorCode.UNIMPLEMENTED,  # method not found
    -32602: ErrorCode.INVALID_ARGUMENT,  # invalid params (also: unknown tool)
    -32002: ErrorCode.NOT_FOUND,  # resource not found
}


def _mcp_error(target: str, exc: McpErrorResponse) -> CoordinatorError:
    code = _MCP_CODES.get(exc.code, ErrorCode.UNKNOWN)
    return CoordinatorError(code, f"{target} answered MCP error {exc.code}: {exc.message}")


def _is_error_result(data: Any) -> bool:
    return isinstance(data, dict) and data.get("isError") is True
