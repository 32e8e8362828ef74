"""Who may call a route: today, a key from API_KEYS in the X-API-Key header.

The one place a route's `auth` requirement meets a request (api.py calls authorize() before
anything of the request is read) and the one place it is described to clients (the security
schemes and requirements openapi.py publishes). Another credential or a role to require
belongs here, beside the API key.
"""

from __future__ import annotations

import hmac
from typing import Any

import flask

from shared.errors import Forbidden, Unauthorized
from shared.http.routes import Route
from shared.settings import get_settings

API_KEY_HEADER = "X-API-Key"
SECURITY_SCHEMES: dict[str, Any] = {
    "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
}


def authorize(route: Route, request: flask.Request) -> None:
    """Raise unless the request may call the route: 401 without credentials, 403 with
    credentials that are not valid."""
    if route.auth:
        require_api_key(request)


def security(route: Route) -> list[dict[str, list[str]]] | None:
    """The route's OpenAPI security requirement; None for a public route."""
    return [{"apiKey": []}] if route.auth else None


def require_api_key(request: flask.Request) -> None:
    supplied = request.headers.get(API_KEY_HEADER)
    if not supplied:
        raise Unauthorized(
            f"this operation needs an {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    supplied_bytes = supplied.encode("utf-8", "surrogateescape")
    matched = False
    for key in get_settings().api_keys:  # compare against every key: timing leaks nothing
        matched |= hmac.compare_digest(supplied_bytes, key.get_secret_value().encode())
    if not matched:
        raise Forbidden("the API key is not valid")
