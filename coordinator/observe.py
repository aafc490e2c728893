"""One place that turns a finished request into its usage event, metrics and log line.

`rpc.py` and the MCP door call `RequestObserver.settled()` once per call, whichever
door it came through and however it ended: a refused call is counted as a refusal,
any other finished with its usage row. Recording never blocks and never raises into
the request (the usage recorder only enqueues).
"""

from __future__ import annotations

import logging
import time

from coordinator import tracing
from coordinator.calls import CallContext
from coordinator.errors import Refusal
from coordinator.logs import log_decision
from coordinator.metrics import Metrics
from coordinator.refusals import RefusalLog
from coordinator.service import RequestTrace
from coordinator.usage import UsageAttempt, UsageEvent, UsageRecorder

log = logging.getLogger("coordinator.decisions")


class RequestObserver:
    def __init__(self, recorder: UsageRecorder, metrics: Metrics) -> None:
        self.recorder = recorder
        self.metrics = metrics
        self.refusal_log = RefusalLog()

    def refused(self, ctx: CallContext, method: str, reason: str, message: str) -> None:
        """A request turned away before any work (bad key, no scope, rate limit):
        counted by reason, logged a few lines a second at most, no usage row."""
        self.metrics.observe_refusal(reason)
        self.refusal_log.refused(ctx, method, reason, message)

    def settled(
        self,
        ctx: CallContext,
        method: str,
        trace: RequestTrace | None,
        status_code: str,
        started: float,
        *,
        error: str = "",
        refusal: Refusal | None = None,
    ) -> None:
        """How every door reports a call once it ended: `refused()` for one turned away
        before any work (`refusal`), else `finished()`."""
        if refusal is not None:
            self.refused(ctx, method, refusal.refusal, refusal.message)
        else:
            self.finished(ctx, method, trace, status_code, started, error=error)

    def finished(
        self,
        ctx: CallContext,
        method: str,
        trace: RequestTrace | None,
        status_code: str,
        started: float,
        *,
        error: str = "",
    ) -> None:
        seconds = time.perf_counter() - started
        outcome = "ok" if status_code == "OK" else "error"
        target = trace.target if trace is not None else ""
        trace_id = tracing.current_trace_id()
        tracing.record_decision(trace, status_code)
        self.metrics.observe_request(
            ctx.door, method, target or None, outcome, seconds, trace_id=trace_id
        )
        if ctx.principal is not None:
            self.metrics.observe_key(ctx.principal.key_id)
        if trace is None:
            return  # Health and Status are counted, not recorded as usage
        if trace.failover_from:
            self.metrics.observe_failover(trace.failover_from, target)
        event = UsageEvent(
            request_id=ctx.request_id,
            door=ctx.door,
            method=method,
            operation=trace.kind,
            tool_or_method=trace.operation,
            target=target,
            rule=trace.rule or None,
            reason=trace.reason or None,
            confidence=trace.confidence if trace.rule else None,
            outcome=outcome,
            status_code=status_code,
            latency_ms=seconds * 1000,
            cached=trace.cached,
            failover=trace.failover,
            attempts=tuple(
                UsageAttempt(
                    target=a.target, outcome=a.outcome, latency_ms=a.latency_ms, error=a.error
                )
                for a in trace.attempts
            ),
            api_key_id=ctx.key_id,
            error=error or None,
            trace_id=trace_id or None,
        )
        self.recorder.record(event)
        log_decision(log, event)
