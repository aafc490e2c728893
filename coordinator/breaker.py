"""A circuit breaker per target, so a dead target is skipped at once.

Opens after `failure_threshold` consecutive failures; after `open_seconds` it
lets one trial call through (half-open); a success closes it, a failed trial
re-opens it with the wait doubled, up to `max_open_seconds` (Envoy's
outlier-detection shape). Only a call that started after the wait, the trial or
a call that failed before it could claim the trial (at its tools/list), doubles
the wait: calls that started before the breaker opened and fail afterwards, even
long afterwards, say nothing new about the target. A health probe that reaches
the target while the breaker is open ends the wait: the next call goes through
as the trial. The clock is injected so tests never sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

CircuitState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = 5
    open_seconds: float = 30.0
    max_open_seconds: float = 300.0


class CircuitBreaker:
    def __init__(
        self, policy: BreakerPolicy = BreakerPolicy(), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0
        self._open_seconds = policy.open_seconds
        self._opened = False
        self._tripped_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> CircuitState:
        if not self._opened:
            return "closed"
        return "open" if self._clock() < self._open_until else "half_open"

    def allows_request(self) -> bool:
        """True when a request may go to the target now (claims the half-open probe)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        return False

    def is_available(self) -> bool:
        """Like `allows_request` but without claiming anything (for routing)."""
        state = self.state
        return state == "closed" or (state == "half_open" and not self._probe_in_flight)

    def release_probe(self) -> None:
        """The claimed half-open probe ended with no outcome (e.g. cancelled): another may go."""
        self._probe_in_flight = False

    def record_success(self) -> None:
        self._failures = 0
        self._opened = False
        self._probe_in_flight = False
        self._open_seconds = self._policy.open_seconds

    def record_failure(self, *, trial: bool = False, started_at: float | None = None) -> None:
        """A call failed; `trial` when it was the half-open trial `allows_request` granted,
        `started_at` (on this breaker's clock) when the call began, if known."""
        if self._opened:
            # After the wait, the trial (or, with none in flight, a call that started after
            # the trip) failing says the target is still down: wait longer. Anything else is
            # a late failure of a call that started before the breaker (re-)opened.
            late = started_at is not None and started_at < self._tripped_at
            if self.state == "half_open" and (trial or not (self._probe_in_flight or late)):
                self._open_seconds = min(self._open_seconds * 2, self._policy.max_open_seconds)
                self._trip()
            return
        self._failures += 1
        if self._failures >= self._policy.failure_threshold:
            self._trip()

    def probe_succeeded(self) -> None:
        """A health probe reached the target: an open breaker lets the next call try."""
        if self._opened and not self._probe_in_flight:
            self._open_until = min(self._open_until, self._clock())

    def _trip(self) -> None:
        self._opened = True
        self._probe_in_flight = False
        self._tripped_at = self._clock()
        self._open_until = self._tripped_at + self._open_seconds
