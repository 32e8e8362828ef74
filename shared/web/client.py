"""The console's pooled HTTP client for the public APIs (backend-for-frontend).

Every page calls movies, reviews and ratings over their public HTTP APIs, never the database
or the model. The console holds no key: a call made for the signed-in user carries that user's
session cookie as its credential (`Authorization: Bearer`), and the functions decide what the
identity may do; anonymous visitors' calls, and the public reads every visitor sees alike,
carry none. Where the functions are not public, every call also carries the console's own ID
token for IAM (shared/web/invoker.py). An API problem (RFC 9457) becomes an ApiProblem the
views turn into a friendly message; an unreachable function or a 5xx becomes ApiUnavailable
("try again").
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlencode

import urllib3

from shared import tracing
from shared.lazy import Lazy
from shared.settings import get_settings
from shared.web import invoker

Function = Literal["movies", "reviews", "ratings"]
# Idempotent reads are retried once on a broken pooled connection; writes never are here
# (a retried POST /reviews is made safe by its Idempotency-Key one level up).
_READ_RETRIES = urllib3.Retry(total=1, connect=1, read=1, status=0, allowed_methods={"GET"})


@dataclass
class ApiProblem(Exception):
    """An API answered with an error (problem+json or not)."""

    status: int
    detail: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)
    retry_after: str | None = None

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.detail}"


class ApiUnavailable(ApiProblem):
    """The function could not be reached, or answered 5xx: the user should try again."""


_pool = Lazy(
    lambda: urllib3.PoolManager(num_pools=8, maxsize=16, block=False),
    close=urllib3.PoolManager.clear,
)
# threads for a page's independent API calls (made in parallel)
T = TypeVar("T")
_executor = Lazy(
    lambda: ThreadPoolExecutor(8, thread_name_prefix="bff"),
    close=lambda pool: pool.shutdown(wait=False),
)


def submit(call: Callable[..., T], *args: Any) -> Future[T]:
    """`call(*args)` on a thread for a page's independent API calls (made in parallel), in
    a copy of the caller's context: its trace goes on with the call (request())."""
    return _executor.get().submit(contextvars.copy_context().run, call, *args)


def url(function: Function, path: str, query: dict[str, Any] | None = None) -> str:
    """The absolute URL of `path` on `function`; None-valued query parameters are left out."""
    base = get_settings().api_url(function)
    params = {k: v for k, v in (query or {}).items() if v is not None and v != ""}
    return base + quote(path, safe="/:") + (f"?{urlencode(params)}" if params else "")


def request(
    function: Function,
    method: str,
    path: str,
    *,
    query: dict[str, Any] | None = None,
    body: Any = None,
    credential: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Call one API, as the user whose session cookie `credential` is (None: anonymously);
    the decoded JSON body (None for 204), or ApiProblem / ApiUnavailable."""
    settings = get_settings()
    sent = {"Accept": "application/json", **tracing.carrier(), **(headers or {})}
    if settings.console_token is not None:
        sent["X-Console-Token"] = settings.console_token.get_secret_value()
    if credential is not None:
        sent["Authorization"] = f"Bearer {credential}"
    try:
        sent.update(invoker.headers(settings.api_url(function)))
    except invoker.TokenUnavailable:
        raise ApiUnavailable(503, f"no ID token to invoke {function} with") from None
    payload = None
    if body is not None:
        payload = json.dumps(body, ensure_ascii=False, default=str).encode()
        sent["Content-Type"] = "application/json"
    try:
        response = _pool.get().request(
            method,
            url(function, path, query),
            body=payload,
            headers=sent,
            timeout=urllib3.Timeout(connect=3, read=settings.api_timeout_seconds),
            retries=_READ_RETRIES if method == "GET" else False,
            redirect=False,
        )
    except urllib3.exceptions.HTTPError as error:
        raise ApiUnavailable(503, f"{function} is not reachable ({type(error).__name__})") from None
    return _decode(function, response)


def _decode(function: Function, response: urllib3.BaseHTTPResponse) -> Any:
    status = response.status
    data = response.data
    if status < 400 and (status == 204 or not data):
        return None
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    if status < 400:
        if parsed is None:
            raise ApiUnavailable(502, f"{function} answered with a body that is not JSON")
        return parsed
    problem = parsed if isinstance(parsed, dict) else {}
    kind = ApiUnavailable if status >= 500 else ApiProblem
    raise kind(
        status,
        str(problem.get("detail") or problem.get("title") or f"HTTP {status}"),
        list(problem.get("errors") or []),
        response.headers.get("Retry-After"),
    )
