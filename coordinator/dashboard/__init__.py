"""The operator's dashboard: one static page under /dashboard, reading GET /usage and GET /status.

The files ship inside the package (`static/`); they are read once, when the routes are built.
The page asks for the API key and sends it itself: serving the files needs no key.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
# Everything the page loads comes from here; no inline script, no other origin.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def dashboard_routes() -> list[BaseRoute]:
    """GET /dashboard (the page) and GET /dashboard/<file> (its script and style sheet)."""
    static = resources.files(__package__) / "static"
    contents = {name: (static / name).read_bytes() for name in _FILES}

    async def page(request: Request) -> Response:
        return Response(contents["index.html"], media_type=_FILES["index.html"], headers=_HEADERS)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in contents:
            return Response("not found\n", status_code=404, media_type="text/plain")
        return Response(contents[name], media_type=_FILES[name], headers=_HEADERS)

    async def to_page(request: Request) -> Response:
        return RedirectResponse("/dashboard", status_code=308)

    return [
        Route("/dashboard", page, methods=["GET"]),
        Route("/dashboard/", to_page, methods=["GET"]),
        Route("/dashboard/{name}", asset, methods=["GET"]),
    ]
