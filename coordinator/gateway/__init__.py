"""The HTTP/JSON door: a generic transcoder driven by google.api.http options.

    app = build_gateway(services=[(service_descriptor, handlers)], limits=InputLimits())

`build_gateway` turns service descriptors and their unary handlers into a
Starlette app that also serves its OpenAPI document at /openapi.json. Other
routes of the same HTTP server can be passed as `extra_routes` (tried first);
that keeps the gateway the outermost app, so every other path still gets a
google.rpc.Status answer. `render_error` is the one error rendering every HTTP
surface shares; `coordinator.gateway.openapi.openapi_document` describes the
same routes as OpenAPI 3.1.
"""

from .app import GatewayApp, build_gateway
from .errors import RenderedError, render_error, status_json
from .routes import GatewayConfigError

__all__ = [
    "GatewayApp",
    "GatewayConfigError",
    "RenderedError",
    "build_gateway",
    "render_error",
    "status_json",
]
