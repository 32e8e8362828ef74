"""The web console's Flask app: configuration, CSRF, headers, error pages, the entry point.

functions-framework hands each request to `handle`, which dispatches it through this app
(templates, static files, sessions). The app is built once per instance from the settings and
rebuilt only if the settings object changes (tests switch settings between cases).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from pathlib import Path
from typing import Any

import flask
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import StrictUndefined
from werkzeug.exceptions import HTTPException

from shared import logs
from shared.lazy import Lazy
from shared.settings import Settings, get_settings
from shared.web import assets
from shared.web.client import ApiProblem, ApiUnavailable
from shared.web.security import RateLimiter, apply_headers

HERE = Path(__file__).resolve().parent
log = logging.getLogger("shared.web")
MULTIPART_OVERHEAD = 64 * 1024  # form fields and boundaries around the capped file

ERROR_TEXT = {
    400: ("잘못된 요청입니다", "요청을 처리할 수 없습니다. 주소나 입력을 확인해 주세요."),
    404: ("페이지를 찾을 수 없습니다", "주소가 바뀌었거나 삭제된 항목입니다."),
    405: ("허용되지 않는 요청입니다", "이 주소는 그 방식의 요청을 받지 않습니다."),
    413: ("파일이 너무 큽니다", "올릴 수 있는 크기를 넘었습니다."),
    429: ("요청이 너무 많습니다", "잠시 후 다시 시도해 주세요."),
    500: ("문제가 발생했습니다", "잠시 후 다시 시도해 주세요. 문제가 계속되면 알려 주세요."),
    503: ("서비스를 잠시 사용할 수 없습니다", "잠시 후 다시 시도해 주세요."),
}


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
    logs.set_trace(request.headers.get("X-Cloud-Trace-Context"), settings.google_cloud_project)
    app = get_app()
    # The same Request object, so its body stream is read once: functions-framework drains
    # the request after the function returns and must find it consumed, not cut short. Its
    # routing is this app's, not functions-framework's catch-all.
    request.url_rule = request.view_args = request.routing_exception = None
    with flask.ctx.RequestContext(app, request.environ, request=request):
        response = app.full_dispatch_request()
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
    app.jinja_env.globals.update(asset=assets.url, upload_limit=settings.web_upload_max_bytes)
    app.jinja_env.filters.update(assets.FILTERS)
    app.extensions["rate_limiter"] = RateLimiter()
    CSRFProtect(app)

    from shared.web.views import docs, movies, pages, uploads

    for blueprint in (pages.bp, movies.bp, uploads.bp, docs.bp):
        app.register_blueprint(blueprint)
    app.after_request(apply_headers)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(ApiProblem, _api_problem)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def _secret_key(settings: Settings) -> bytes:
    """WEB_SECRET_KEY, else derived from the write key (one secret to manage, the same on every
    instance), else random per process (sessions then last as long as the process)."""
    if settings.web_secret_key is not None:
        return settings.web_secret_key.get_secret_value().encode()
    if settings.api_keys:
        key = settings.api_keys[0].get_secret_value().encode()
        return hmac.new(key, b"web-console-session-v1", hashlib.sha256).digest()
    log.warning("no WEB_SECRET_KEY or API_KEYS: sessions are signed with a per-process key")
    return secrets.token_bytes(32)


def error_page(status: int, detail: str | None = None, **headers: str) -> flask.Response:
    title, text = ERROR_TEXT.get(status, ERROR_TEXT[500])
    html = flask.render_template("error.html", status=status, title=title, text=detail or text)
    response = flask.make_response(html, status)
    response.headers.update(headers)
    return response


def _csrf_failed(error: CSRFError) -> flask.Response:
    return error_page(
        400, "보안 토큰이 없거나 만료되었습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."
    )


def _api_problem(error: ApiProblem) -> flask.Response:
    if isinstance(error, ApiUnavailable):
        return error_page(503, None, **{"Retry-After": error.retry_after or "5"})
    if error.status == 404:
        return error_page(404)
    if error.status in (400, 422):
        return error_page(400, "요청 값이 올바르지 않습니다. 주소를 확인해 주세요.")
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
