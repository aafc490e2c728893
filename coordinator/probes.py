"""Active health probes: an MCP `ping` to every target on a jittered interval.

A target turns unhealthy after `unhealthy_after` failed probes in a row and
healthy again after `healthy_after` good ones, so a frozen target is noticed
without any traffic and a flapping one does not flip on every probe. The
counting is the pure `ProbeState`; `HealthProber` only schedules and pings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from coordinator.retry import jitter
from coordinator.targets import McpErrorResponse, Target, TargetUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProbePolicy:
    interval: float = 5.0
    # Each wait is interval * (1 +- jitter), so replicas do not probe in lockstep.
    jitter: float = 0.2
    timeout: float = 1.0
    unhealthy_after: int = 3
    healthy_after: int = 2


class ProbeState:
    """Consecutive probe results of one target, and the verdict they give."""

    def __init__(self, policy: ProbePolicy) -> None:
        self._policy = policy
        self.healthy = True
        self.reason = ""
        self._failures = 0
        self._successes = 0

    def record(self, error: str | None) -> bool:
        """Adds one probe result; returns True when the verdict changed."""
        if error is None:
            self._failures = 0
            self._successes += 1
            if not self.healthy and self._successes >= self._policy.healthy_after:
                self.healthy, self.reason = True, ""
                return True
            return False
        self._successes = 0
        self._failures += 1
        if self.healthy and self._failures >= self._policy.unhealthy_after:
            self.healthy = False
            self.reason = f"failed {self._failures} health probes: {error}"
            return True
        return False


# Called as (target, healthy, reason) when a verdict changes.
ProbeListener = Callable[[str, bool, str], None]
# Called as (target) after every probe that reached the target, verdict changed or not.
ReachedListener = Callable[[str], None]


class HealthProber:
    """Probes every target in the background while entered (`async with`)."""

    def __init__(
        self,
        targets: Mapping[str, Target],
        policy: ProbePolicy,
        *,
        on_change: ProbeListener | None = None,
        on_reached: ReachedListener | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = jitter,
    ) -> None:
        self._targets = targets
        self._policy = policy
        self._on_change = on_change
        self._on_reached = on_reached
        self._sleep = sleep
        self._rng = rng
        self.states = {name: ProbeState(policy) for name in targets}
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> HealthProber:
        self._tasks = [
            asyncio.create_task(self._run(name), name=f"probe-{name}") for name in self._targets
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def probe_once(self, name: str) -> None:
        error: str | None = None
        try:
            await self._targets[name].request("ping", None, timeout=self._policy.timeout)
        except McpErrorResponse:
            pass  # it answered: alive, even if it does not implement ping
        except TargetUnavailable as exc:
            error = str(exc)
        state = self.states[name]
        if state.record(error):
            if state.healthy:
                log.info("target %s is healthy again", name)
            else:
                log.warning("target %s is unhealthy: %s", name, state.reason)
            if self._on_change is not None:
                self._on_change(name, state.healthy, state.reason)
        if error is None and self._on_reached is not None:
            self._on_reached(name)

    async def _run(self, name: str) -> None:
        policy = self._policy
        while True:
            spread = policy.jitter * (2 * self._rng() - 1)
            await self._sleep(policy.interval * (1 + spread))
            try:
                await self.probe_once(name)
            except Exception:  # a probe bug must not end probing
                log.exception("health probe of %s failed unexpectedly", name)
