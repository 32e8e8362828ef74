"""The web console's Flask app: configuration, CSRF, headers, error pages, the entry point.

functions-framework hands each request to `handle`, which dispatches it through this app
(templates, static files, sessions). The app is built once per instance from the settings and
rebuilt only if the settings object changes (tests switch settings between cases).
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Any

import flask
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import StrictUndefined
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from shared import logs, tracing
from shared.errors import IdentityUnavailable
from shared.identity import Permission
from shared.lazy import Lazy
from shared.ratelimits import RateLimiter
from shared.settings import Settings, get_settings
from shared.web import assets, session
from shared.web import google as google_flow
from shared.web.client import ApiProblem, ApiUnavailable
from shared.web.security import apply_headers
from shared.web.session import Refused

HERE = Path(__file__).resolve().parent
log = logging.getLogger("shared.web")
MULTIPART_OVERHEAD = 64 * 1024  # form fields and boundaries around the capped file

ERROR_TEXT = {
    400: ("잘못된 요청입니다", "요청을 처리할 수 없습니다. 주소나 입력을 확인해 주세요."),
    403: ("권한이 없습니다", "이 계정으로는 할 수 없는 일입니다. 아무것도 바뀌지 않았습니다."),
    404: ("페이지를 찾을 수 없습니다", "주소가 바뀌었거나 삭제된 항목입니다."),
    405: ("허용되지 않는 요청입니다", "이 주소는 그 방식의 요청을 받지 않습니다."),
    413: ("파일이 너무 큽니다", "올릴 수 있는 크기를 넘었습니다."),
    429: ("요청이 너무 많습니다", "잠시 후 다시 시도해 주세요."),
    500: ("문제가 발생했습니다", "잠시 후 다시 시도해 주세요. 문제가 계속되면 알려 주세요."),
    503: ("서비스를 잠시 사용할 수 없습니다", "잠시 후 다시 시도해 주세요."),
}
SIGN_IN_NEEDED = (
    "로그인이 필요합니다",
    "로그인한 뒤 다시 시도해 주세요. 아무것도 바뀌지 않았습니다.",
)
SIGN_IN_AGAIN = "로그인이 만료되었습니다. 다시 로그인해 주세요. 아무것도 바뀌지 않았습니다."
BAD_VALUES = "요청 값이 올바르지 않습니다. 주소를 확인해 주세요."


# the app is built for one Settings object: tests that change the settings get a new one
_app = Lazy(lambda: create_app(get_settings()), built_for=get_settings)


def get_app() -> flask.Flask:
    """The console app, built for the instance's settings (again when they change)."""
    return _app.get()


def handle(request: flask.Request) -> flask.Response:
    """The functions-framework entry point: run the request through the console app."""
    started = time.perf_counter()
    settings = get_settings()
    logs.configure(settings.log_level)
    app = get_app()
    # The same Request object, so its body stream is read once: functions-framework drains
    # the request after the function returns and must find it consumed, not cut short. Its
    # routing is this app's, not functions-framework's catch-all. The span's trace (or the
    # request's own, tracing off) goes on to the APIs the page calls (client.py).
    request.url_rule = request.view_args = request.routing_exception = None
    with tracing.server_span(request.headers, f"{request.method} console"):
        with flask.ctx.RequestContext(app, request.environ, request=request):
            response = app.full_dispatch_request()
        if request.url_rule is not None:
            tracing.rename(f"{request.method} {request.url_rule.rule}")
        logs.log_request(request, response, time.perf_counter() - started)
    return response


def create_app(settings: Settings) -> flask.Flask:
    # /assets, not /static: functions-framework's own app claims /static/<file> (and
    # /favicon.ico, /robots.txt) before the request reaches the function.
    app = flask.Flask(
        "shared.web",
        root_path=str(HERE),
        static_folder="static",
        static_url_path="/assets",
        template_folder="templates",
    )
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        MAX_CONTENT_LENGTH=settings.web_upload_max_bytes + MULTIPART_OVERHEAD,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Behind Google's front end (trusted proxy hops > 0) every request is HTTPS.
        SESSION_COOKIE_SECURE=settings.web_trusted_proxy_hops > 0,
        SESSION_COOKIE_NAME="console",
        WTF_CSRF_TIME_LIMIT=None,  # valid for the browser session the cookie lives in
        WTF_CSRF_SSL_STRICT=False,  # behind a proxy the scheme lies; SameSite + token suffice
        SEND_FILE_MAX_AGE_DEFAULT=365 * 24 * 3600,  # static URLs carry a content hash
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.jinja_env.undefined = StrictUndefined
    from shared.web.views import account, docs, google, movies, pages, reviews, uploads

    app.jinja_env.globals.update(
        asset=assets.url,
        upload_limit=settings.web_upload_max_bytes,
        Permission=Permission,
        may_edit=reviews.may_edit,
        may_delete=reviews.may_delete,
        google_sign_in=google_flow.enabled(),
    )
    app.jinja_env.filters.update(assets.FILTERS)
    # who is signed in decides which controls a page shows (the views check again on use)
    app.context_processor(lambda: {"user": session.current_user()})
    app.extensions["rate_limiter"] = RateLimiter()
    CSRFProtect(app)

    for blueprint in (pages.bp, movies.bp, reviews.bp, uploads.bp, account.bp, google.bp, docs.bp):
        app.register_blueprint(blueprint)
    app.after_request(apply_headers)
    app.after_request(session.drop_refused)
    app.register_error_handler(Refused, _refused)
    app.register_error_handler(IdentityUnavailable, _identity_unavailable)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(ApiProblem, _api_problem)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def _secret_key(settings: Settings) -> bytes:
    """The key of the console's own (Flask) session, which holds CSRF tokens and flashed
    messages, never who is signed in: the one every instance shares (Settings.console_key),
    else random per process (locally: a restart only asks for a reload of open forms)."""
    key = settings.console_key
    if key is not None:
        return key
    log.warning("no WEB_SECRET_KEY or CURSOR_SECRET: sessions are signed with a per-process key")
    return secrets.token_bytes(32)


def error_page(
    status: int, detail: str | None = None, *, title: str | None = None, **headers: str
) -> flask.Response:
    default_title, text = ERROR_TEXT.get(status, ERROR_TEXT[500])
    html = flask.render_template(
        "error.html", status=status, title=title or default_title, text=detail or text
    )
    response = flask.make_response(html, status)
    response.headers.update(headers)
    return response


def _refused(error: Refused) -> flask.Response | BaseResponse:
    """A request the user may not make changes nothing: an anonymous visitor of a page goes
    to the sign-in page (and comes back after); any other refusal is the 403 page."""
    request = flask.request
    if error.user is None and request.method == "GET":
        back = request.full_path.rstrip("?")
        return flask.redirect(flask.url_for("account.sign_in", next=back), code=303)
    if error.user is None:
        return error_page(403, SIGN_IN_NEEDED[1], title=SIGN_IN_NEEDED[0])
    return error_page(403)


def _identity_unavailable(error: IdentityUnavailable) -> flask.Response:
    """A session that cannot be checked for a write is not let through: try again."""
    retry = error.headers.get("Retry-After", "5")
    return error_page(503, None, **{"Retry-After": retry})


def _csrf_failed(error: CSRFError) -> flask.Response:
    return error_page(
        400, "보안 토큰이 없거나 만료되었습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."
    )


def _api_problem(error: ApiProblem) -> flask.Response:
    """An API's refusal the view did not turn into a form message: a page of its own."""
    if isinstance(error, ApiUnavailable):
        return error_page(503, None, **{"Retry-After": error.retry_after or "5"})
    if error.status == 401:  # the API no longer accepts the session (revoked, expired)
        session.forget()
        return error_page(403, SIGN_IN_AGAIN, title=SIGN_IN_NEEDED[0])
    if error.status == 429:
        return error_page(429, None, **{"Retry-After": error.retry_after or "60"})
    # 403 is the functions' own refusal (the console's check is not the last word)
    pages = {404: (404, None), 400: (400, BAD_VALUES), 422: (400, BAD_VALUES), 403: (403, None)}
    if error.status in pages:
        return error_page(*pages[error.status])
    log.warning("API answered %s: %s", error.status, error.detail)
    return error_page(500)


def _http_error(error: HTTPException) -> flask.Response | HTTPException:
    status = error.code or 500
    if status not in ERROR_TEXT:
        return error
    headers: dict[str, Any] = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods or [])  # type: ignore[attr-defined]
    if status == 413:
        limit = get_settings().web_upload_max_bytes
        return error_page(413, f"파일은 {assets.megabytes(limit)}까지 올릴 수 있습니다.")
    if status == 429:
        headers["Retry-After"] = str(getattr(error, "retry_after", None) or 60)
    return error_page(status, None, **headers)


def _unexpected(error: Exception) -> flask.Response:
    log.error("unhandled error in the console", exc_info=error)
    return error_page(500)
