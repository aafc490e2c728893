"""The one error type of the coordinator and the one table that maps its codes.

Every failure that reaches a caller is a `CoordinatorError`. Foreign exceptions
(grpc, aiohttp, MCP, redis) are translated where they enter; the doors only
ever see this type and turn it into a gRPC status or an HTTP response through
`ERROR_TABLE`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2


class ErrorCode(enum.Enum):
    """Status codes, named and numbered as google.rpc.Code."""

    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


@dataclass(frozen=True, slots=True)
class StatusMapping:
    grpc_status: grpc.StatusCode
    http_status: int


# HTTP statuses as grpc-gateway v2 maps them (runtime/errors.go HTTPStatusFromCode).
ERROR_TABLE: dict[ErrorCode, StatusMapping] = {
    ErrorCode.CANCELLED: StatusMapping(grpc.StatusCode.CANCELLED, 499),
    ErrorCode.UNKNOWN: StatusMapping(grpc.StatusCode.UNKNOWN, 500),
    ErrorCode.INVALID_ARGUMENT: StatusMapping(grpc.StatusCode.INVALID_ARGUMENT, 400),
    ErrorCode.DEADLINE_EXCEEDED: StatusMapping(grpc.StatusCode.DEADLINE_EXCEEDED, 504),
    ErrorCode.NOT_FOUND: StatusMapping(grpc.StatusCode.NOT_FOUND, 404),
    ErrorCode.ALREADY_EXISTS: StatusMapping(grpc.StatusCode.ALREADY_EXISTS, 409),
    ErrorCode.PERMISSION_DENIED: StatusMapping(grpc.StatusCode.PERMISSION_DENIED, 403),
    ErrorCode.RESOURCE_EXHAUSTED: StatusMapping(grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    ErrorCode.FAILED_PRECONDITION: StatusMapping(grpc.StatusCode.FAILED_PRECONDITION, 400),
    ErrorCode.ABORTED: StatusMapping(grpc.StatusCode.ABORTED, 409),
    ErrorCode.OUT_OF_RANGE: StatusMapping(grpc.StatusCode.OUT_OF_RANGE, 400),
    ErrorCode.UNIMPLEMENTED: StatusMapping(grpc.StatusCode.UNIMPLEMENTED, 501),
    ErrorCode.INTERNAL: StatusMapping(grpc.StatusCode.INTERNAL, 500),
    ErrorCode.UNAVAILABLE: StatusMapping(grpc.StatusCode.UNAVAILABLE, 503),
    ErrorCode.DATA_LOSS: StatusMapping(grpc.StatusCode.DATA_LOSS, 500),
    ErrorCode.UNAUTHENTICATED: StatusMapping(grpc.StatusCode.UNAUTHENTICATED, 401),
}


@dataclass(frozen=True, slots=True)
class Quota:
    """A rate limit as the IETF RateLimit headers describe it: `limit` requests per
    `window` seconds under policy `name`; `remaining` now, full again in `reset` seconds."""

    name: str
    limit: int
    window: int
    remaining: int
    reset: int


# What a target's MCP (JSON-RPC) error becomes for the caller: an answer, not an outage.
MCP_ERROR_CODES: dict[int, ErrorCode] = {
    -32700: ErrorCode.INVALID_ARGUMENT,  # parse error
    -32600: ErrorCode.INVALID_ARGUMENT,  # invalid request
    -32601: ErrorCode.UNIMPLEMENTED,  # method not found
    -32602: ErrorCode.INVALID_ARGUMENT,  # invalid params (also: unknown tool)
    -32002: ErrorCode.NOT_FOUND,  # resource not found
}

# Why an attempt on one target got no answer -> the code reported for that target (Aggregate's
# per-target errors); any other reason is UNAVAILABLE.
ATTEMPT_FAILURE_CODES: dict[str, ErrorCode] = {
    "timeout": ErrorCode.DEADLINE_EXCEEDED,
    "overloaded": ErrorCode.RESOURCE_EXHAUSTED,
}


class CoordinatorError(Exception):
    """A failure with a status code, safe to show to the caller.

    `field` names the request field at fault, when there is one (it becomes a
    google.rpc.BadRequest field violation on the wire). `reason` and `metadata`,
    when given, become a google.rpc.ErrorInfo detail: a machine-readable cause
    (e.g. ANSWER_TOO_DEEP, with the target the call ran on). `retry_after`
    (seconds) tells the caller when to try again: a google.rpc.RetryInfo detail on
    the wire, `Retry-After` over HTTP; `quota` adds the RateLimit headers.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        retry_after: float | None = None,
        quota: Quota | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.reason = reason
        self.metadata = dict(metadata or {})
        self.retry_after = retry_after
        self.quota = quota

    @property
    def grpc_status(self) -> grpc.StatusCode:
        return ERROR_TABLE[self.code].grpc_status

    @property
    def http_status(self) -> int:
        return ERROR_TABLE[self.code].http_status

    def __repr__(self) -> str:
        return f"CoordinatorError({self.code.name}, {self.message!r})"


class Refusal(CoordinatorError):
    """A request turned away before any work: a missing or wrong key, a missing scope or
    target, a rate limit. `refusal` names why (the label of `mcpc_refusals_total`); a
    refusal is logged a few lines a second at most and writes no usage row."""

    def __init__(self, code: ErrorCode, message: str, refusal: str, **details: Any) -> None:
        super().__init__(code, message, **details)
        self.refusal = refusal


def invalid_argument(field: str, problem: str) -> CoordinatorError:
    """INVALID_ARGUMENT whose message starts with the field at fault."""
    return CoordinatorError(ErrorCode.INVALID_ARGUMENT, f"{field}: {problem}", field=field)


ERROR_DOMAIN = "mcp-coordinator"


def to_status_proto(error: CoordinatorError) -> status_pb2.Status:
    """The google.rpc.Status both doors send: code, message, a google.rpc.ErrorInfo
    when the error has a reason, a google.rpc.BadRequest naming the field at fault, and
    a google.rpc.RetryInfo when the caller should retry later."""
    status = status_pb2.Status(code=error.code.value, message=error.message)
    if error.reason is not None:
        info = error_details_pb2.ErrorInfo(
            reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
        )
        status.details.add().Pack(info)
    if error.field is not None:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=error.field, description=error.message
                )
            ]
        )
        status.details.add().Pack(bad_request)
    if error.retry_after is not None:
        seconds = max(0.0, error.retry_after)
        whole = math.floor(seconds)
        delay = duration_pb2.Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    return status
