"""The Redis breaker as a state machine: no Redis, no waiting."""

from __future__ import annotations

import logging

import pytest

from coordinator.cache.breaker import RedisBreaker
from coordinator.cache.redis_store import redact_url


def breaker() -> RedisBreaker:
    return RedisBreaker(where="127.0.0.1:6379", probe_delay=0.5, probe_delay_max=4)


def test_first_failure_opens_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="coordinator.cache")
    subject = breaker()
    states = [subject.state]
    for _ in range(50):
        subject.trip("ConnectionError: refused")
    states.append(subject.state)
    assert states == ["up", "down"]
    assert [r.getMessage() for r in caplog.records] == [
        "cache: redis at 127.0.0.1:6379 is down (ConnectionError: refused);"
        " serving from the in-process cache"
    ]


def test_probe_delay_doubles_up_to_the_ceiling_and_restarts_after_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="coordinator.cache")
    subject = breaker()
    subject.trip("timeout")
    assert [subject.next_probe_delay() for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]

    subject.reset()
    subject.reset()
    assert subject.state == "up"
    subject.trip("timeout")
    assert subject.next_probe_delay() == 0.5
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO", "WARNING"]


def test_delays_must_make_sense() -> None:
    with pytest.raises(ValueError, match="probe_delay"):
        RedisBreaker(where="x", probe_delay=2, probe_delay_max=1)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://app:s3cret@cache.example/1", "rediss://app:***@cache.example/1"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_logged_urls_hide_the_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
