"""The gateway ASGI application: HTTP request in, unary handler call, JSON out.

The dispatcher is a plain ASGI callable on the hot path (no Request object, no
per-request descriptor walk) wrapped in a Starlette app so it mounts like any
other. Every failure leaves through `render_error`; nothing a client sends can
produce a 500 or a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import NoReturn

from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from coordinator import __version__, tracing
from coordinator.calls import CallContext, ServiceHandlers, UnaryHandler
from coordinator.errors import CoordinatorError, ErrorCode, invalid_argument
from coordinator.limits import DEFAULT_LIMITS, InputLimits

from .errors import DEFAULT_WWW_AUTHENTICATE, render_error
from .headers import RequestHeaders, read_request_headers
from .jsonmap import CodecRegistry, dump_json
from .routes import RouteTable, build_routes

logger = logging.getLogger(__name__)

OPENAPI_PATH = "/openapi.json"
_JSON_HEADER = (b"content-type", b"application/json")


class _HttpFailure(Exception):
    """A failure whose HTTP status the HTTP layer decides (404, 405, 413, 415)."""

    def __init__(
        self,
        error: CoordinatorError,
        http_status: int,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.http_status = http_status
        self.headers = headers


class _ClientGone(Exception):
    pass


class GatewayDispatcher:
    """ASGI app serving every route of a `RouteTable` plus the OpenAPI document."""

    def __init__(
        self,
        table: RouteTable,
        *,
        max_body_bytes: int,
        openapi_json: bytes,
        www_authenticate: str = DEFAULT_WWW_AUTHENTICATE,
    ) -> None:
        self._table = table
        self._max_body_bytes = max_body_bytes
        self._openapi_json = openapi_json
        self._www_authenticate = www_authenticate
        self._json_content_types: dict[bytes, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request_id: str | None = None
        try:
            headers = read_request_headers(scope["headers"])
            request_id = headers.request_id
            payload = await self._serve(scope, receive, headers)
        except CoordinatorError as error:
            await self._send_error(send, error, None, None, request_id)
            return
        except _HttpFailure as failure:
            await self._send_error(
                send, failure.error, failure.http_status, failure.headers, request_id
            )
            return
        except _ClientGone:
            return
        except Exception:
            logger.exception("gateway: unexpected failure serving %s", scope.get("path"))
            internal = CoordinatorError(ErrorCode.INTERNAL, "internal error")
            await self._send_error(send, internal, None, None, request_id)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    _JSON_HEADER,
                    (b"content-length", str(len(payload)).encode("ascii")),
                    (b"x-request-id", headers.request_id.encode("ascii")),
                ],
            }
        )
        body = b"" if scope["method"] == "HEAD" else payload
        await send({"type": "http.response.body", "body": body})

    async def _serve(self, scope: Scope, receive: Receive, headers: RequestHeaders) -> bytes:
        # The deadline counts from the request's arrival, body upload included.
        deadline = None if headers.timeout is None else time.monotonic() + headers.timeout
        raw_path = _route_raw_path(scope)
        http_method: str = scope["method"]
        try:
            found = self._table.match(http_method, raw_path)
        except UnicodeDecodeError:
            raise invalid_argument("path", "not valid UTF-8 after percent-decoding") from None
        route = None if found is None else found.route
        # The span opens before anything may refuse the request: refusals have theirs too.
        with tracing.http_server_span(
            http_method,
            None if route is None else route.template.template.source,
            raw_path,
            scope.get("scheme", "http"),
            headers.metadata,
        ) as span:
            try:
                if found is None or route is None:
                    if raw_path == OPENAPI_PATH and http_method in ("GET", "HEAD"):
                        return self._openapi_json
                    self._raise_no_route(raw_path)
                body = b""
                if route.takes_body:
                    self._check_content_type(headers.content_type)
                    body = await self._read_body(receive, headers.content_length)
                message = route.build_request(found.captured, body, scope.get("query_string", b""))
                context = CallContext(
                    "http", route.grpc_method, headers.metadata, deadline, headers.request_id
                )
                if deadline is None:
                    call = route.handler(message, context)
                else:
                    call = _call_before(deadline, route.handler, message, context)
                response = await _unless_client_leaves(receive, call)
            except _HttpFailure as failure:
                span.failed(failure.error, http_status=failure.http_status)
                raise
            except _ClientGone:
                span.caller_left()
                raise
        if not isinstance(response, route.response_class):
            raise TypeError(
                f"{route.grpc_method} returned {type(response).__name__}, "
                f"not {route.response_class.__name__}"
            )
        return dump_json(route.encode_response(response))

    def _raise_no_route(self, raw_path: str) -> NoReturn:
        try:
            allowed = self._table.allowed_methods(raw_path)
        except UnicodeDecodeError:
            allowed = []
        if raw_path == OPENAPI_PATH:
            allowed = sorted({*allowed, "GET", "HEAD"})
        if allowed:
            raise _HttpFailure(
                CoordinatorError(ErrorCode.UNIMPLEMENTED, f"method not allowed for {raw_path}"),
                405,
                [(b"allow", ", ".join(allowed).encode("ascii"))],
            )
        raise _HttpFailure(CoordinatorError(ErrorCode.NOT_FOUND, f"no route for {raw_path}"), 404)

    def _check_content_type(self, content_type: bytes | None) -> None:
        if content_type is None:
            return
        accepted = self._json_content_types.get(content_type)
        if accepted is None:
            accepted = _is_json_media_type(content_type)
            if len(self._json_content_types) < 64:
                self._json_content_types[content_type] = accepted
        if not accepted:
            raise _HttpFailure(
                CoordinatorError(
                    ErrorCode.INVALID_ARGUMENT,
                    f"content type {content_type.decode('latin-1')!r} is not supported; "
                    "send application/json (UTF-8)",
                ),
                415,
            )

    async def _read_body(self, receive: Receive, content_length: int | None) -> bytes:
        limit = self._max_body_bytes
        if content_length is not None and content_length > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk: bytes = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _send_error(
        self,
        send: Send,
        error: CoordinatorError,
        http_status: int | None,
        extra_headers: list[tuple[bytes, bytes]] | None,
        request_id: str | None,
    ) -> None:
        rendered = render_error(
            error,
            http_status=http_status,
            request_id=request_id,
            www_authenticate=self._www_authenticate,
            extra_headers=extra_headers,
        )
        await send(
            {"type": "http.response.start", "status": rendered.status, "headers": rendered.headers}
        )
        await send({"type": "http.response.body", "body": rendered.body})


async def _unless_client_leaves(receive: Receive, call: Awaitable[Message]) -> Message:
    """Awaits the handler in this task; a client that disconnects meanwhile cancels
    it, and with it the work it started upstream. One watcher task per request."""
    current = asyncio.current_task()
    assert current is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        current.cancel()

    watcher = asyncio.create_task(watch())
    try:
        response = await call
    except asyncio.CancelledError:
        if not gone:
            raise
        current.uncancel()
        raise _ClientGone from None
    finally:
        watcher.cancel()
    if gone:  # the client left just as the handler finished: withdraw the cancel
        current.uncancel()
        raise _ClientGone
    return response


def _too_large(limit: int) -> _HttpFailure:
    return _HttpFailure(
        CoordinatorError(
            ErrorCode.RESOURCE_EXHAUSTED,
            f"request body larger than MAX_REQUEST_BYTES={limit} bytes",
        ),
        413,
    )


def _is_json_media_type(content_type: bytes) -> bool:
    media_type, _, parameters = content_type.decode("latin-1").partition(";")
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return False
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return False
    return True


def _route_raw_path(scope: Scope) -> str:
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        path: str = scope["path"]
    else:
        path = raw.decode("latin-1")
        query_at = path.find("?")
        if query_at >= 0:
            path = path[:query_at]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :] or "/"
    return path


async def _call_before(
    deadline: float, handler: UnaryHandler, message: Message, context: CallContext
) -> Message:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise CoordinatorError(ErrorCode.DEADLINE_EXCEEDED, "deadline exceeded")
    timeout = asyncio.timeout(remaining)
    try:
        async with timeout:
            return await handler(message, context)
    except TimeoutError:
        if timeout.expired():
            raise CoordinatorError(ErrorCode.DEADLINE_EXCEEDED, "deadline exceeded") from None
        raise


def build_gateway(
    services: Iterable[tuple[ServiceDescriptor, ServiceHandlers]],
    *,
    limits: InputLimits = DEFAULT_LIMITS,
    ignore_unknown_query_parameters: bool = False,
    public_methods: Sequence[str] = ("Health",),
    www_authenticate: str = DEFAULT_WWW_AUTHENTICATE,
    title: str = "MCP Coordinator",
    version: str = __version__,
    extra_routes: Sequence[BaseRoute] = (),
    apps: Mapping[str, ASGIApp] | None = None,
) -> Starlette:
    """A Starlette app serving every google.api.http binding of `services`.

    `services` pairs each service descriptor with its handlers by short method
    name. `limits` bound the body (413 over `max_request_bytes`) and what it
    holds (JSON depth, string and key lengths: 400), checked before the body
    is decoded. `public_methods` (short names) are documented without the
    `X-API-Key` requirement in the OpenAPI document served at /openapi.json;
    the gateway itself checks no key: that is the core's job, on every door.
    `extra_routes` (e.g. Mount("/mcp", ...), Route("/metrics", ...)) are tried
    first; every other request goes to the gateway. `apps` are ASGI apps served at exactly
    their path that answer every request themselves, exceptions included (e.g. "/mcp"):
    while no middleware is added they are called directly, ahead of Starlette's stack.
    Raises `GatewayConfigError` for annotations it cannot serve.
    """
    from .openapi import openapi_document  # not at import: `-m ...openapi` runs it

    service_list = list(services)
    registry = CodecRegistry()
    routes = build_routes(
        service_list,
        registry,
        ignore_unknown_query_parameters=ignore_unknown_query_parameters,
        limits=limits,
    )
    document = openapi_document(
        [service for service, _ in service_list],
        title=title,
        version=version,
        public_methods=public_methods,
    )
    dispatcher = GatewayDispatcher(
        RouteTable(routes),
        max_body_bytes=limits.max_request_bytes,
        openapi_json=dump_json(document),
        www_authenticate=www_authenticate,
    )
    return GatewayApp(dispatcher, extra_routes, apps or {})


class GatewayApp(Starlette):
    """A Starlette app whose router falls back to the gateway dispatcher.

    The dispatcher is the router's default rather than a Mount: a Mount's path
    regex does not match every path (e.g. one holding %0A), and the gateway
    must answer every request with a google.rpc.Status. While no middleware is
    added, HTTP requests that no extra route matches skip Starlette's router
    and middleware stack: the dispatcher already turns every exception into a
    response, and the stack costs about 10 µs a request. The same holds for `apps`,
    which answer every request at their path themselves.
    """

    def __init__(
        self,
        dispatcher: GatewayDispatcher,
        extra_routes: Sequence[BaseRoute],
        apps: Mapping[str, ASGIApp],
    ) -> None:
        super().__init__()
        routes = [*extra_routes, *(Route(path, app) for path, app in apps.items())]
        self.router = Router(routes=routes, default=dispatcher, redirect_slashes=False)
        self._dispatcher = dispatcher
        self._extra_routes = tuple(extra_routes)
        self._apps = dict(apps)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.user_middleware:
            app = self._apps.get(scope["path"])
            if app is None and not self._extra_match(scope):
                app = self._dispatcher
            if app is not None:
                scope["app"] = self
                await app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _extra_match(self, scope: Scope) -> bool:
        for route in self._extra_routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return True
        return False
