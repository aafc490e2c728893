"""The JSON log line (`coordinator/logs.py`) vs python-json-logger and structlog."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from pythonjsonlogger.json import JsonFormatter as PjlJsonFormatter
from pythonjsonlogger.orjson import OrjsonFormatter as PjlOrjsonFormatter

from bench.libraries.timing import Timed, compare, facts, table
from coordinator.logs import JsonFormatter, _Redactor, log_decision
from coordinator.usage import UsageAttempt, UsageEvent

SECRET = "sk-live-0123456789abcdef"


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _decision_record() -> logging.LogRecord:
    """The record `log_decision` makes for a failed-over Route, with a secret in an error."""
    logger = logging.getLogger("bench.libraries.decisions")
    logger.propagate = False
    keep = _Keep()
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    event = UsageEvent(
        request_id="3f2b6c1e-8a4d-4c1b-9f0e-2d7a5b6c8e91",
        door="rest",
        method="tools/call",
        operation="tools/call",
        outcome="ok",
        status_code="OK",
        latency_ms=12.3456,
        tool_or_method="search_read",
        target="odoo_lab",
        rule="context:migration",
        reason="Migration work uses the testing environment",
        confidence=0.9,
        failover=True,
        attempts=(
            UsageAttempt("odoo_prod", "unavailable", 2.5, f"refused (key {SECRET})"),
            UsageAttempt("odoo_lab", "ok", 9.8),
        ),
        api_key_id="k_1a2b3c",
    )
    log_decision(logger, event)
    logger.removeHandler(keep)
    return keep.records[0]


class _RedactingPjl(PjlJsonFormatter):
    """python-json-logger plus the coordinator's redaction (it has none of its own)."""

    def __init__(self, redactor: _Redactor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._redactor = redactor

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return _pjl_record(self._redactor, log_data)

    def serialize_log_record(self, log_data: dict[str, Any]) -> str:
        return self._redactor.text(super().serialize_log_record(log_data))


def _pjl_record(redactor: _Redactor, log_data: dict[str, Any]) -> dict[str, Any]:
    log_data["level"] = log_data["level"].lower()
    return {name: redactor.field(name, value) for name, value in log_data.items()}


class _RedactingPjlOrjson(PjlOrjsonFormatter):
    def __init__(self, redactor: _Redactor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._redactor = redactor

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return _pjl_record(self._redactor, log_data)

    def serialize_log_record(self, log_data: dict[str, Any]) -> str:
        return self._redactor.text(super().serialize_log_record(log_data))


def run(batches: int) -> list[str]:
    record = _decision_record()
    redactor = _Redactor([SECRET])
    same_fields: dict[str, Any] = {
        "fmt": ["levelname", "name", "message"],
        "rename_fields": {"levelname": "level", "name": "logger"},
        "timestamp": "time",
    }
    ours = JsonFormatter(redactor)
    pjl = _RedactingPjl(redactor, **same_fields)
    pjl_orjson = _RedactingPjlOrjson(redactor, **same_fields)

    def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
        return {name: redactor.field(name, value) for name, value in event.items()}

    def dumps_redacted(document: Any, **options: Any) -> str:
        return redactor.text(json.dumps(document, **options))

    structlog_formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
            structlog.stdlib.ExtraAdder(),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.EventRenamer("message"),
            redact,
            structlog.processors.JSONRenderer(dumps_redacted, ensure_ascii=False, default=str),
        ],
    )
    formatters: dict[str, logging.Formatter] = {
        "coordinator JsonFormatter": ours,
        "python-json-logger (json) + redaction": pjl,
        "python-json-logger (orjson) + redaction": pjl_orjson,
        "structlog ProcessorFormatter + redaction": structlog_formatter,
    }
    lines = ["## logs: `JsonFormatter` vs python-json-logger and structlog", ""]
    lines += table(
        "format one decision line (16 fields, two attempts, a secret to redact)",
        compare({name: _formatting(f, record) for name, f in formatters.items()}, batches, 500),
        "coordinator JsonFormatter",
    )
    reference = json.loads(ours.format(record))
    rows = []
    for name, formatter in formatters.items():
        line = formatter.format(record)
        document = json.loads(line)
        missing = sorted(set(reference) - set(document))
        extra = sorted(set(document) - set(reference))
        rows.append(
            (
                f"{name}: same keys as ours? secret gone?",
                f"missing {missing or 'none'}, extra {extra or 'none'}; level "
                f"{document.get('level')!r}; time {document.get('time')!r}; "
                f"secret {'LEAKED' if SECRET in line else 'redacted'}",
            )
        )
    rows.append(
        (
            "redaction built in",
            "neither: both take it as a hook (`process_log_record`, a processor), "
            "which calls our `_Redactor`",
        )
    )
    lines += facts(rows)
    return lines


def _formatting(formatter: logging.Formatter, record: logging.LogRecord) -> Timed:
    def format_once() -> str:
        # Formatters may set attributes on the record (message, asctime): start clean.
        fresh = logging.makeLogRecord(dict(vars(record)))
        return formatter.format(fresh)

    return format_once
