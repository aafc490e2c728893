"""When a failed attempt may move on to the next target: retries as data plus
pure predicates (the google-api-core shape), and a retry budget (Envoy's).

- A connection that could not be opened sent nothing: moving on is always safe.
- A timeout, reset, 5xx or broken stream may have let the call run: moving on
  is safe only for operations that change nothing (list/read methods and tools
  annotated `readOnlyHint: true`). Anything else is reported as "outcome
  unknown" instead of being replayed on another target.
- The budget caps concurrent retries at `budget_ratio` of active requests (at
  least `min_concurrent_retries`), so an outage of every target never turns into
  a retry storm.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from coordinator.cache import READ_ONLY_METHODS

# Methods that change nothing on the target, so repeating them is harmless.
REPEATABLE_METHODS = READ_ONLY_METHODS | {"completion/complete"}

# Jitter draws from a generator of its own: the module-level `random` state belongs to
# whatever embeds the coordinator (a test drawing examples from it, for one), and a
# background probe drawing from it changes that state under the embedder's feet.
jitter: Callable[[], float] = random.Random().random


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    # First backoff before moving on; doubles per further attempt, full jitter.
    initial_backoff: float = 0.005
    max_backoff: float = 0.1
    budget_ratio: float = 0.2
    min_concurrent_retries: int = 3


def may_move_on(*, may_have_run: bool, read_only: bool) -> bool:
    """Whether another target may be tried after a failed attempt."""
    return not may_have_run or read_only


def backoff_seconds(
    policy: RetryPolicy, retry_number: int, rng: Callable[[], float] = jitter
) -> float:
    """Full-jitter exponential backoff before retry `retry_number` (1 for the first)."""
    growth = 2.0 ** max(0, retry_number - 1)
    ceiling = min(policy.max_backoff, policy.initial_backoff * growth)
    return ceiling * rng()


class RetryBudget:
    """Counts active retries; a retry needs a free slot, sized by the requests in flight."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self.active_retries = 0
        self.rejected = 0

    def try_acquire(self, active_requests: int) -> bool:
        allowed = max(
            self._policy.min_concurrent_retries,
            int(self._policy.budget_ratio * active_requests),
        )
        if self.active_retries >= allowed:
            self.rejected += 1
            return False
        self.active_retries += 1
        return True

    def release(self) -> None:
        self.active_retries -= 1
