"""CORS: preflight answers from the route map, and the allow-origin headers from CORS_ORIGINS."""

from __future__ import annotations

import flask
from werkzeug.exceptions import NotFound as WzNotFound
from werkzeug.routing import MapAdapter
from werkzeug.routing.exceptions import RoutingException

from shared.errors import NotFound
from shared.http import idempotency
from shared.http.credentials import API_KEY_HEADER, AUTHORIZATION_HEADER
from shared.settings import get_settings

ALLOWED_HEADERS = (
    f"Content-Type, {AUTHORIZATION_HEADER}, {API_KEY_HEADER}, {idempotency.HEADER},"
    " X-Cloud-Trace-Context"
)
EXPOSED_HEADERS = "Retry-After, Location, WWW-Authenticate"


def preflight(adapter: MapAdapter, path: str) -> flask.Response:
    """The answer to OPTIONS on `path`: the methods its routes allow, or a 404."""
    try:
        methods = adapter.allowed_methods(path)
    except (WzNotFound, RoutingException):
        methods = []
    if not methods:
        raise NotFound(f"no resource at {path}")
    response = flask.Response(status=204)
    response.headers["Allow"] = ", ".join(sorted(set(methods) | {"OPTIONS"}))
    response.headers["Access-Control-Allow-Methods"] = response.headers["Allow"]
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    return response


def apply(request: flask.Request, response: flask.Response) -> None:
    """Let an allowed origin read the response (every response, problems included)."""
    origin = request.headers.get("Origin")
    allowed = get_settings().cors_origins
    if not origin or not allowed:
        return
    if "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
