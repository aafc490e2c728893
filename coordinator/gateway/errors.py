"""HTTP rendering of errors: one google.rpc.Status JSON body for every failure.

`render_error` is the one place that turns a `CoordinatorError` into an HTTP
status, headers and body; any other HTTP surface (the lead's app, tests that
compare doors) can reuse it to answer exactly as the gateway does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.message import Message
from starlette.responses import Response

from coordinator.errors import CoordinatorError, ErrorCode, to_status_proto

from .jsonmap import dump_json

DEFAULT_WWW_AUTHENTICATE = 'ApiKey header="X-API-Key"'


@dataclass(frozen=True, slots=True)
class RenderedError:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def to_response(self) -> Response:
        response = Response(self.body, status_code=self.status, media_type="application/json")
        for name, value in self.headers:
            if name != b"content-type":
                response.headers.append(name.decode("latin-1"), value.decode("latin-1"))
        return response


def status_json(error: CoordinatorError) -> dict[str, object]:
    """The google.rpc.Status of the error as JSON (proto field names)."""
    status = to_status_proto(error)
    details: list[object] = []
    for detail in status.details:
        details.append(_any_to_json(detail))
    return {"code": status.code, "message": status.message, "details": details}


def _any_to_json(detail: Message) -> object:
    return json_format.MessageToDict(
        detail,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )


def render_error(
    error: CoordinatorError,
    *,
    http_status: int | None = None,
    request_id: str | None = None,
    www_authenticate: str = DEFAULT_WWW_AUTHENTICATE,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> RenderedError:
    """Status from ERROR_TABLE (or `http_status` when the HTTP layer itself
    decides, e.g. 405 or 413), a google.rpc.Status body, and the headers a
    client needs: `WWW-Authenticate` on 401, `X-Request-Id` when known,
    `Retry-After` (whole seconds, rounded up) and the IETF `RateLimit-Policy` /
    `RateLimit` headers when the error carries them."""
    body = dump_json(status_json(error))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    if request_id is not None:
        headers.append((b"x-request-id", request_id.encode("latin-1")))
    headers.extend(error_headers(error, www_authenticate=www_authenticate))
    if extra_headers:
        headers.extend(extra_headers)
    return RenderedError(http_status or error.http_status, headers, body)


def error_headers(
    error: CoordinatorError, *, www_authenticate: str = DEFAULT_WWW_AUTHENTICATE
) -> list[tuple[bytes, bytes]]:
    """The headers an error carries over any HTTP door, whatever its body: `WWW-Authenticate`
    on 401, `Retry-After` and the RateLimit headers when the caller should come back later."""
    headers: list[tuple[bytes, bytes]] = []
    if error.code is ErrorCode.UNAUTHENTICATED:
        headers.append((b"www-authenticate", www_authenticate.encode("latin-1")))
    if error.retry_after is not None:
        seconds = max(1, math.ceil(error.retry_after))
        headers.append((b"retry-after", str(seconds).encode("ascii")))
    if error.quota is not None:
        quota = error.quota
        name = quota.name.encode("ascii", "replace")
        headers.append((b"ratelimit-policy", b'"%s";q=%d;w=%d' % (name, quota.limit, quota.window)))
        headers.append((b"ratelimit", b'"%s";r=%d;t=%d' % (name, quota.remaining, quota.reset)))
    return headers


__all__ = [
    "DEFAULT_WWW_AUTHENTICATE",
    "RenderedError",
    "error_headers",
    "render_error",
    "status_json",
]
