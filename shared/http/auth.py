"""Who may call a route: the one place a route's `auth` requirement meets a request.

A route's `auth` is the Permission it requires (shared/identity/roles.py's table says which
roles hold it), or None for a public route. api.py calls authorize() before anything of the
request is read: a route with a permission gets its caller verified (credentials.py), the
permission checked (401 without credentials, 403 without the permission) and the write
counted against the caller's rate limit (429). It is also the one place this is described to
clients: the security schemes and each operation's requirement openapi.py publishes.
"""

from __future__ import annotations

from typing import Any

import flask

from shared.errors import TooManyRequests
from shared.http.credentials import API_KEY_HEADER, Caller
from shared.http.routes import Route
from shared.identity.principal import Principal
from shared.lazy import Lazy
from shared.ratelimits import RateLimiter
from shared.settings import get_settings

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Firebase ID token of a signed-in account (or the web console's "
        "session cookie). Its role (custom claim `role`: admin; otherwise member) decides "
        "what it may do. Not together with X-API-Key.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": API_KEY_HEADER,
        "description": "A service client's key (imports, scripts): an admin's powers, and "
        "editing any review. Not together with Authorization.",
    },
}
# either credential, or none: reads are public (a credential there is not looked at)
PUBLIC: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"apiKey": []}]
SIGNED: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
WRITES = "write"  # the rate limiter's kind for every route that requires a permission

_limiter: Lazy[RateLimiter] = Lazy(RateLimiter)


def authorize(route: Route, request: flask.Request) -> Caller:
    """The request's caller; for a route with a permission, verified, allowed and counted."""
    caller = Caller(request.headers)
    if route.auth is not None:
        _count_write(caller.require(route.auth))
    return caller


def security(route: Route) -> list[dict[str, list[str]]]:
    """The route's OpenAPI security requirement: either credential, or also none."""
    return PUBLIC if route.auth is None else SIGNED


def _count_write(principal: Principal) -> None:
    settings = get_settings()
    if principal.is_account:
        rate: str | None = settings.api_write_rate_limit
    else:
        rate = settings.api_key_write_rate_limit
    if rate is None:
        return
    wait = _limiter.get().hit(WRITES, principal.client, rate)
    if wait is not None:
        raise TooManyRequests(f"too many writes ({rate}); retry later", retry_after=wait)
