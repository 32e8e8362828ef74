"""Helpers every view uses: rate limits, parallel API calls, redirects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import flask
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as BaseResponse

from shared.ratelimits import RateLimiter
from shared.settings import get_settings
from shared.web.client import submit
from shared.web.security import client_ip
from shared.web.session import User

T = TypeVar("T")
Kind = Literal["write", "preview", "sign-in", "sign-up"]


def check_rate(kind: Kind, key: str | None = None) -> int | None:
    """Count this request against a budget: `key`'s, else the client address's (as the
    trusted proxies say it); the seconds to wait if the budget is spent."""
    settings = get_settings()
    rate = {
        "write": settings.web_write_rate_limit,
        "preview": settings.web_preview_rate_limit,
        "sign-in": settings.web_sign_in_rate_limit,
        "sign-up": settings.web_sign_up_rate_limit,
    }[kind]
    limiter: RateLimiter = flask.current_app.extensions["rate_limiter"]
    who = key or f"client:{client_ip(flask.request, settings.web_trusted_proxy_hops)}"
    return limiter.hit(kind, who, rate)


def _limit(kind: Kind, key: str | None = None) -> None:
    wait = check_rate(kind, key)
    if wait is not None:
        raise TooManyRequests(retry_after=wait)


def limit_writes(user: User) -> None:
    """429 (with Retry-After) once this user has used up the write budget, wherever from."""
    _limit("write", f"user:{user.uid}")


def limit_attempts(kind: Literal["sign-in", "sign-up"]) -> None:
    """429 once this client has used up its sign-in (or sign-up) attempts: password checks
    are counted per client address here, not by Identity Platform, which sees them all come
    from the console's few egress addresses."""
    _limit(kind)


def parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent API calls at once; results in order, the first error re-raised."""
    futures = [submit(call) for call in calls]
    return [future.result() for future in futures]


def redirect(endpoint: str, anchor: str | None = None, **values: Any) -> BaseResponse:
    """303 See Other: after a POST the browser GETs the result (no resubmit on reload)."""
    return flask.redirect(flask.url_for(endpoint, _anchor=anchor, **values), code=303)


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site (a `next` to return to), else `default`: never
    another origin (`//evil.example`, `https://…`, `\\\\evil`), so no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target


def redirect_to(path: str) -> BaseResponse:
    return flask.redirect(path, code=303)
