"""Log lines for refused requests, at most a few per second.

A client hammering the coordinator with a wrong key must not cost a WARNING
line per request: `RefusalLog` writes up to `per_second` lines each second and
counts the rest, which the next line written reports ("(and 1234 more
refusals not logged)"). The counter in /metrics (`mcpc_refusals_total`) stays exact.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from coordinator.calls import CallContext

log = logging.getLogger("coordinator.auth")


class RefusalLog:
    def __init__(self, per_second: int = 5, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_second = per_second
        self._clock = clock
        self._window = -1.0
        self._written = 0
        self.suppressed = 0

    def refused(self, ctx: CallContext, method: str, reason: str, message: str) -> None:
        if not log.isEnabledFor(logging.WARNING):
            return
        now = self._clock()
        if now - self._window >= 1.0:
            self._window, self._written = now, 0
        if self._written >= self._per_second:
            self.suppressed += 1
            return
        self._written += 1
        suppressed, self.suppressed = self.suppressed, 0
        log.warning(
            "refused %s %s: %s%s",
            ctx.door,
            method,
            message,
            f" (and {suppressed} more refusals not logged)" if suppressed else "",
            extra={
                "request_id": ctx.request_id,
                "door": ctx.door,
                "method": method,
                "reason": reason,
                "api_key_id": ctx.key_id,
                "refusals_not_logged": suppressed,
            },
        )
