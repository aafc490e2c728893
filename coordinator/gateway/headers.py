"""What HTTP request headers carry into a call, and nothing more.

`X-API-Key` becomes metadata `x-api-key` (given twice, in any spelling, it is a
400: which one wins must not depend on a proxy's order), `Grpc-Metadata-<k>`
becomes `<k>`;
`Grpc-Timeout` (gRPC syntax: up to 8 digits and a unit H M S m u n) and
`X-Request-Timeout` (milliseconds) set the deadline, the earlier one winning;
`X-Request-Id` is kept when it is printable ASCII of at most 128 characters,
otherwise a new one is made. `traceparent` and `tracestate` (W3C trace context)
become metadata of the same names. Every other header stays at the door.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from coordinator.calls import request_id_from
from coordinator.errors import CoordinatorError, ErrorCode

_GRPC_TIMEOUT = re.compile(rb"([0-9]{1,8})([HMSmun])\Z")
_GRPC_TIMEOUT_UNITS = {
    b"H": 3600.0,
    b"M": 60.0,
    b"S": 1.0,
    b"m": 1e-3,
    b"u": 1e-6,
    b"n": 1e-9,
}
_MILLISECONDS = re.compile(rb"[0-9]{1,10}(?:\.[0-9]{1,6})?\Z")
_METADATA_PREFIX = b"grpc-metadata-"


@dataclass(slots=True)
class RequestHeaders:
    metadata: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    request_id: str = ""
    content_type: bytes | None = None
    content_length: int | None = None


def _bad_header(name: str, problem: str) -> CoordinatorError:
    return CoordinatorError(ErrorCode.INVALID_ARGUMENT, f"header {name}: {problem}")


(
    _H_CONTENT_TYPE,
    _H_CONTENT_LENGTH,
    _H_API_KEY,
    _H_GRPC_TIMEOUT,
    _H_REQUEST_TIMEOUT,
    _H_REQUEST_ID,
) = range(6)
_H_METADATA = 6
_KNOWN_HEADERS = {
    b"content-type": _H_CONTENT_TYPE,
    b"content-length": _H_CONTENT_LENGTH,
    b"x-api-key": _H_API_KEY,
    b"grpc-timeout": _H_GRPC_TIMEOUT,
    b"x-request-timeout": _H_REQUEST_TIMEOUT,
    b"x-request-id": _H_REQUEST_ID,
    # W3C trace context: metadata under its own name, as on gRPC (coordinator.tracing).
    b"traceparent": _H_METADATA,
    b"tracestate": _H_METADATA,
}


def read_request_headers(raw_headers: Iterable[tuple[bytes, bytes]]) -> RequestHeaders:
    """Reads ASGI headers (lower-case names). `timeout` is in seconds from
    now; INVALID_ARGUMENT for a malformed timeout or Content-Length."""
    result = RequestHeaders()
    request_id = b""
    for name, value in raw_headers:
        kind = _KNOWN_HEADERS.get(name)
        if kind is None:
            if name.startswith(_METADATA_PREFIX) and len(name) > len(_METADATA_PREFIX):
                key = name[len(_METADATA_PREFIX) :].decode("latin-1")
                if key == "x-api-key" and key in result.metadata:
                    raise _bad_header("X-API-Key", "given more than once")
                result.metadata[key] = value.decode("latin-1")
        elif kind == _H_CONTENT_TYPE:
            result.content_type = value
        elif kind == _H_CONTENT_LENGTH:
            if not value.isdigit():
                raise _bad_header("Content-Length", "not a number")
            result.content_length = int(value)
        elif kind == _H_API_KEY:
            if "x-api-key" in result.metadata:
                raise _bad_header("X-API-Key", "given more than once")
            result.metadata["x-api-key"] = value.decode("latin-1")
        elif kind == _H_GRPC_TIMEOUT:
            result.timeout = _earliest(result.timeout, _grpc_timeout(value))
        elif kind == _H_REQUEST_TIMEOUT:
            result.timeout = _earliest(result.timeout, _milliseconds(value))
        elif kind == _H_METADATA:
            result.metadata[name.decode("latin-1")] = value.decode("latin-1")
        else:
            request_id = value
    result.request_id = request_id_from(request_id.decode("latin-1"))
    return result


def _earliest(current: float | None, new: float) -> float:
    return new if current is None else min(current, new)


def _grpc_timeout(value: bytes) -> float:
    found = _GRPC_TIMEOUT.match(value.strip())
    if found is None:
        raise _bad_header(
            "Grpc-Timeout", "expected up to 8 digits and a unit H, M, S, m, u or n (e.g. 500m)"
        )
    return int(found.group(1)) * _GRPC_TIMEOUT_UNITS[found.group(2)]


def _milliseconds(value: bytes) -> float:
    value = value.strip()
    if not _MILLISECONDS.match(value):
        raise _bad_header("X-Request-Timeout", "expected a number of milliseconds")
    return float(value) / 1000.0
