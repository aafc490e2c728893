"""Logging set-up: JSON lines for `docker logs`, readable text for a terminal.

Fields given as `extra={...}` become JSON keys (or `key=value` in text). Fields named like a
secret (api_key, authorization, password, token, ...) are replaced by "[redacted]", and so are the
values passed as `secrets` where they stand as a value: a whole field, or a whole token of the
text (between spaces, quotes, `=`, `:`, `,` and the like). Never inside another word: with a key
`k`, "ok" stays "ok" (replacing substrings garbled the log and told a reader the key).
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import logging.handlers
import queue
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from coordinator.usage import UsageEvent

LogFormat = Literal["json", "text"]
REDACTED = "[redacted]"

_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
_SECRET_FIELD = re.compile(
    r"(^|_)(api_?key|key|authorization|password|passwd|secret|token|service_role_key)$"
)
_SCALARS = frozenset({str, int, float, bool, type(None)})
# Marks the handler this module installed, so configuring twice replaces it.
_OWN_HANDLER = "_coordinator_handler"


def configure_logging(
    format: LogFormat = "json",
    level: str | int = "INFO",
    *,
    stream: TextIO | None = None,
    secrets: Iterable[str | None] = (),
    background: bool = True,
) -> logging.Handler:
    """Installs one handler on the root logger (replacing a previous one from here).

    `background`: records are formatted and written by a thread, so neither JSON formatting nor
    a slow stream (a full `docker logs` pipe) holds up the event loop. Closing the returned
    handler (or `logging.shutdown()` at exit) writes what is pending.
    """
    if format not in ("json", "text"):
        raise ValueError(f"log format must be 'json' or 'text', got {format!r}")
    writer = logging.StreamHandler(stream if stream is not None else sys.stderr)
    redactor = _Redactor([s for s in secrets if s])
    writer.setFormatter(JsonFormatter(redactor) if format == "json" else TextFormatter(redactor))
    handler: logging.Handler = BackgroundHandler(writer) if background else writer
    setattr(handler, _OWN_HANDLER, True)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _OWN_HANDLER, False):
            root.removeHandler(existing)
            existing.close()
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler


class BackgroundHandler(logging.handlers.QueueHandler):
    """Passes records to a thread that formats and writes them through `target`.

    The queue is bounded: when the stream cannot keep up, records are dropped and counted in
    `dropped` rather than blocking the caller or growing without limit.
    """

    def __init__(self, target: logging.Handler, capacity: int = 10_000) -> None:
        self._records: queue.Queue[Any] = queue.Queue(capacity)
        super().__init__(self._records)
        self.target = target
        self.dropped = 0
        self._listener = _Listener(self._records, target)
        self._listener.start()
        self._running = True

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # What may change after this call (arguments, the traceback) is fixed now; the
        # expensive formatting of the line happens in the thread.
        prepared = copy.copy(record)
        prepared.message = record.getMessage()
        prepared.msg, prepared.args = prepared.message, None
        if record.exc_info:
            prepared.exc_text = _EXCEPTIONS.formatException(record.exc_info)
            prepared.exc_info = None
        return prepared

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self._records.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def close(self) -> None:
        if self._running:
            self._running = False
            self._listener.stop()
        self.target.close()
        super().close()


class _Listener(logging.handlers.QueueListener):
    def __init__(self, records: queue.Queue[Any], target: logging.Handler) -> None:
        super().__init__(records, target)
        self._records = records

    def enqueue_sentinel(self) -> None:
        # Waits for room (the thread is draining) instead of failing on a full queue;
        # None is QueueListener's end-of-queue sentinel.
        self._records.put(None, timeout=5)


_EXCEPTIONS = logging.Formatter()


# The caller's own doing: worth a line, not an operator's attention.
_CALLER_CODES = frozenset(
    {
        "CANCELLED",
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "FAILED_PRECONDITION",
        "OUT_OF_RANGE",
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
    }
)


def log_decision(logger: logging.Logger, event: UsageEvent) -> None:
    """One line per routing decision: INFO when it went well or failed by the caller's doing
    (a bad request, a client that went away), WARNING otherwise. Never a traceback."""
    level = (
        logging.INFO
        if event.outcome == "ok" or event.status_code in _CALLER_CODES
        else logging.WARNING
    )
    if not logger.isEnabledFor(level):
        return
    logger.log(
        level,
        "%s %s -> %s %s %s in %.1f ms%s%s",
        event.method,
        event.tool_or_method or event.operation,
        event.target or "-",
        event.outcome,
        event.status_code,
        event.latency_ms,
        " (failover)" if event.failover else " (cached)" if event.cached else "",
        f": {event.error}" if event.error else "",
        extra={
            "request_id": event.request_id,
            "door": event.door,
            "method": event.method,
            "operation": event.operation,
            "tool_or_method": event.tool_or_method,
            "target": event.target,
            "rule": event.rule,
            "reason": event.reason,
            "confidence": event.confidence,
            "outcome": event.outcome,
            "status_code": event.status_code,
            "latency_ms": round(event.latency_ms, 3),
            "cached": event.cached,
            "failover": event.failover,
            "attempts": [
                {
                    "target": a.target,
                    "outcome": a.outcome,
                    "latency_ms": round(a.latency_ms, 3),
                    **({"error": a.error} if a.error else {}),
                }
                for a in event.attempts
            ],
            "api_key_id": event.api_key_id,
            "error": event.error,
            "trace_id": event.trace_id,
        },
    )


# Characters a key may hold (`keys create` makes URL-safe base64): a secret found with one of
# these right before or after it is part of a longer word, not the secret standing alone.
_WORD = r"A-Za-z0-9_\-.~+/"


class _Redactor:
    """Redacts secret-named fields (nested ones too), fields whose value is a secret, and
    secrets standing as whole tokens in the finished line."""

    def __init__(self, secrets: list[str]) -> None:
        # Also as they appear inside a JSON string, should a secret hold a quote or a backslash.
        forms = {*secrets, *(json.dumps(s, ensure_ascii=False)[1:-1] for s in secrets)}
        self._values = frozenset(secrets)
        self._pattern = (
            re.compile(
                rf"(?<![{_WORD}])(?:"
                + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
                + rf")(?![{_WORD}])"
            )
            if forms
            else None
        )

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(REDACTED, value)

    def field(self, name: str, value: Any) -> Any:
        if value is not None and _is_secret_name(name):
            return REDACTED
        if type(value) is str and value in self._values:
            return REDACTED
        if type(value) in _SCALARS:
            return value
        if isinstance(value, dict):
            return {k: self.field(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple) and any(
            isinstance(v, dict | list | tuple) for v in value
        ):
            return [self.field("", v) for v in value]
        return value


@functools.lru_cache(maxsize=1024)
def _is_secret_name(name: str) -> bool:
    return bool(name) and _SECRET_FIELD.search(name.lower().replace("-", "_")) is not None


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the extra fields."""

    def __init__(self, redactor: _Redactor | None = None) -> None:
        super().__init__()
        self._redact = redactor or _Redactor([])

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in _extra_fields(record).items():
            document.setdefault(name, self._redact.field(name, value))
        exception = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        if exception:
            document["exception"] = exception
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return self._redact.text(json.dumps(document, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """`2026-01-01T10:00:00.000Z INFO  logger: message  key=value ...`"""

    def __init__(self, redactor: _Redactor | None = None) -> None:
        super().__init__()
        self._redact = redactor or _Redactor([])

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{name}={_text_value(self._redact.field(name, value))}"
            for name, value in _extra_fields(record).items()
            if value is not None and value != "" and value != [] and value != ()
        )
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if fields:
            line += "  " + fields
        exception = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        if exception:
            line += "\n" + exception
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return self._redact.text(line)


def _text_value(value: Any) -> str:
    if isinstance(value, str):
        return (
            value
            if value and not any(c.isspace() or c in '"=' for c in value)
            else json.dumps(value)
        )
    return json.dumps(value, ensure_ascii=False, default=str)
