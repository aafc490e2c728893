"""Structured logs: JSON lines for `docker logs`, text for a terminal, never an API key."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from coordinator.logs import REDACTED, configure_logging, log_decision
from tests.usage.conftest import make_event

API_KEY = "sk-live-very-secret-key"


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root_logger")
def test_json_lines_carry_the_decision_and_its_request_id() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream, secrets=[API_KEY], background=False)
    event = make_event(7, api_key_id="reporting")

    log_decision(logging.getLogger("coordinator.service"), event)

    [line] = stream.getvalue().splitlines()
    document = json.loads(line)
    assert document["level"] == "info"
    assert document["logger"] == "coordinator.service"
    assert document["time"].endswith("Z")
    assert document["message"] == "Route ask -> odoo_lab ok OK in 12.5 ms (failover)"
    assert document["request_id"] == "req-000007"
    assert (document["target"], document["rule"], document["outcome"]) == (
        "odoo_lab",
        "context:migration",
        "ok",
    )
    assert document["attempts"][0] == {
        "target": "odoo_prod",
        "outcome": "unavailable",
        "latency_ms": 3.25,
    }
    assert document["api_key_id"] == "reporting"
    assert API_KEY not in line


@pytest.mark.usefixtures("restore_root_logger")
def test_failed_requests_log_at_warning_and_below_level_nothing() -> None:
    """A call the client cancelled is not the coordinator's failure: it stays at info."""
    stream = io.StringIO()
    configure_logging("json", "warning", stream=stream, background=False)
    logger = logging.getLogger("coordinator.service")

    log_decision(logger, make_event(1))
    log_decision(logger, make_event(2, outcome="error", status_code="UNAVAILABLE"))
    log_decision(logger, make_event(3, outcome="error", status_code="CANCELLED"))  # info

    [line] = stream.getvalue().splitlines()
    assert json.loads(line)["level"] == "warning"
    assert json.loads(line)["status_code"] == "UNAVAILABLE"


@pytest.mark.usefixtures("restore_root_logger")
def test_api_keys_are_redacted_by_field_name_and_by_value() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream, secrets=[API_KEY, None], background=False)
    logger = logging.getLogger("coordinator.auth")

    logger.info(
        "rejected key %s",
        API_KEY,
        extra={"api_key": "another-key", "headers": {"X-API-Key": "third-key"}, "door": "http"},
    )
    try:
        raise ValueError(f"bad key {API_KEY}")
    except ValueError:
        logger.exception("failed")

    first, second = (json.loads(line) for line in stream.getvalue().splitlines()[:2])
    assert first["message"] == f"rejected key {REDACTED}"
    assert first["api_key"] == REDACTED
    assert first["headers"] == {"X-API-Key": REDACTED}
    assert first["door"] == "http"
    assert API_KEY not in second["exception"]
    assert "ValueError" in second["exception"]
    assert not any(s in stream.getvalue() for s in (API_KEY, "another-key", "third-key"))


@pytest.mark.usefixtures("restore_root_logger")
def test_text_format_is_one_readable_line_with_key_values() -> None:
    stream = io.StringIO()
    configure_logging("text", "info", stream=stream, background=False)

    log_decision(logging.getLogger("coordinator.service"), make_event(3, cached=True))

    [line] = stream.getvalue().splitlines()
    assert " INFO    coordinator.service: Route ask -> odoo_lab ok OK in 12.5 ms" in line
    assert "request_id=req-000003" in line
    assert 'reason="Migration work uses the testing environment"' in line
    assert not line.startswith("{")


@pytest.mark.usefixtures("restore_root_logger")
def test_configuring_again_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", "info", stream=first)
    configure_logging("text", "info", stream=second, background=False)

    logging.getLogger("coordinator").info("once")

    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="'json' or 'text'"):
        configure_logging("xml", "info")  # type: ignore[arg-type]


@pytest.mark.usefixtures("restore_root_logger")
def test_background_writing_delivers_every_line_by_close_with_exceptions() -> None:
    stream = io.StringIO()
    handler = configure_logging("json", "info", stream=stream, secrets=[API_KEY])
    logger = logging.getLogger("coordinator.service")

    for n in range(200):
        log_decision(logger, make_event(n))
    try:
        raise RuntimeError(f"upstream said {API_KEY}")
    except RuntimeError:
        logger.exception("call failed", extra={"request_id": "req-x"})
    handler.close()

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [d["request_id"] for d in lines] == [f"req-{n:06d}" for n in range(200)] + ["req-x"]
    assert "RuntimeError: upstream said [redacted]" in lines[-1]["exception"]
    assert API_KEY not in stream.getvalue()


@pytest.mark.usefixtures("restore_root_logger")
def test_a_key_is_redacted_where_it_stands_as_a_value_never_inside_a_word() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream, secrets=["k"], background=False)
    logger = logging.getLogger("coordinator.auth")

    logger.info("ok OK key=k, token 'k'", extra={"note": "k", "words": "knock ok"})

    [document] = (json.loads(line) for line in stream.getvalue().splitlines())
    assert document["message"] == f"ok OK key={REDACTED}, token '{REDACTED}'"
    assert document["note"] == REDACTED
    assert document["words"] == "knock ok"
