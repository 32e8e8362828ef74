"""Helpers every view uses: per-client rate limits and parallel API calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import flask
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as BaseResponse

from shared.settings import get_settings
from shared.web.client import executor
from shared.web.security import RateLimiter, client_ip

T = TypeVar("T")


def check_rate(kind: Literal["write", "preview"]) -> int | None:
    """Count this request against the client's budget; seconds to wait if it is spent."""
    settings = get_settings()
    rate = settings.web_write_rate_limit if kind == "write" else settings.web_preview_rate_limit
    limiter: RateLimiter = flask.current_app.extensions["rate_limiter"]
    return limiter.hit(kind, client_ip(flask.request, settings.web_trusted_proxy_hops), rate)


def limit_writes() -> None:
    """Abort with 429 (and Retry-After) when this client has used up its write budget."""
    wait = check_rate("write")
    if wait is not None:
        raise TooManyRequests(retry_after=wait)


def parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent API calls at once; results in order, the first error re-raised."""
    futures = [executor().submit(call) for call in calls]
    return [future.result() for future in futures]


def redirect(endpoint: str, anchor: str | None = None, **values: Any) -> BaseResponse:
    """303 See Other: after a POST the browser GETs the result (no resubmit on reload)."""
    return flask.redirect(flask.url_for(endpoint, _anchor=anchor, **values), code=303)
