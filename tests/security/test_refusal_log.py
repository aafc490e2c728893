"""Refusals are logged a few lines a second; the rest are counted in the next line."""

from __future__ import annotations

import logging

import pytest

from coordinator.calls import CallContext
from coordinator.refusals import RefusalLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_at_most_per_second_lines_then_the_count_of_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    refusals = RefusalLog(per_second=3, clock=clock)
    ctx = CallContext("http", "/x/Route")
    with caplog.at_level(logging.WARNING, logger="coordinator.auth"):
        for _ in range(1000):
            refusals.refused(ctx, "Route", "invalid_key", "invalid API key")
        clock.now += 1.0
        refusals.refused(ctx, "Route", "invalid_key", "invalid API key")

    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4
    assert messages[0] == "refused http Route: invalid API key"
    assert messages[3].endswith("(and 997 more refusals not logged)")
    assert caplog.records[3].__dict__["reason"] == "invalid_key"
