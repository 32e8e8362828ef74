"""A tiny HTTP layer for functions-framework: routing, body limits, auth, CORS, problems, logs."""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flask
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed
from werkzeug.exceptions import NotFound as WzNotFound
from werkzeug.routing import IntegerConverter, Map, Rule

from shared import db, idempotency, logs, problems
from shared.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from shared.settings import get_settings

MAX_ID = 2**63 - 1
ALLOWED_HEADERS = "Content-Type, X-API-Key, Idempotency-Key, X-Cloud-Trace-Context"


class IdConverter(IntegerConverter):
    """Positive bigint ids; anything else is simply not a route (404)."""

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


@dataclass(frozen=True, slots=True)
class Reply:
    """An explicit response from a handler: status, JSON body (or None), extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Call:
    """What a handler receives: validated path, query and body, plus the raw request."""

    request: flask.Request
    path: dict[str, Any]
    query: Any = None
    body: Any = None
    raw_body: bytes = b""


Handler = Callable[[Call], Any]


@dataclass(frozen=True, slots=True)
class Route:
    rule: str
    method: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    auth: bool = False
    errors: tuple[int, ...] = ()
    idempotent: bool = False  # honours Idempotency-Key: a retry replays the first response


class Api:
    """One function's routes; calling the instance is the functions-framework entry point."""

    def __init__(self, title: str, description: str = "", *, prefix: str | None = None) -> None:
        self.title = title
        self.description = description
        self.routes: list[Route] = []
        self._map = Map(converters={"id": IdConverter}, strict_slashes=False)
        self.route("/healthz", "GET", summary="Liveness: the process is up")(_healthz)
        self.route("/readyz", "GET", summary="Readiness: the database answers", errors=(503,))(
            _readyz
        )
        self.route("/openapi.json", "GET", summary="This document")(self._openapi)
        if prefix:  # behind one base URL (router, load balancer) /openapi.json is the console's
            self.route(f"{prefix}/openapi.json", "GET", summary="This document, under the prefix")(
                self._prefixed_openapi
            )

    def route(
        self,
        rule: str,
        method: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        auth: bool = False,
        errors: tuple[int, ...] = (),
        idempotent: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            route = Route(
                rule,
                method,
                handler,
                summary,
                body,
                query,
                response,
                status,
                auth,
                errors,
                idempotent,
            )
            self.routes.append(route)
            self._map.add(Rule(rule, methods=[method], endpoint=route))
            return handler

        return register

    def __call__(self, request: flask.Request) -> flask.Response:
        started = time.perf_counter()
        settings = get_settings()
        logs.configure(settings.log_level)
        logs.set_trace(request.headers.get("X-Cloud-Trace-Context"), settings.google_cloud_project)
        problem = None
        try:
            response = self._dispatch(request)
        except ApiError as error:
            response = problems.render(error, request.path)
            problem = error.title
        except Exception as exc:
            response = problems.render_unexpected(exc, request.path)
            problem = ApiError.title
        _apply_cors(request, response)
        logs.log_request(request, response, time.perf_counter() - started, problem)
        return response

    def _dispatch(self, request: flask.Request) -> flask.Response:
        adapter = self._map.bind_to_environ(request.environ)
        if request.method == "OPTIONS":
            return _preflight(adapter, request.path)
        try:
            route, path_args = adapter.match(method=request.method)
        except WzNotFound:
            raise NotFound(f"no resource at {request.path}") from None
        except WzMethodNotAllowed as error:
            allowed = ", ".join(sorted(error.valid_methods or []))
            raise MethodNotAllowed(
                f"{request.method} is not allowed here", headers={"Allow": allowed}
            ) from None
        if route.auth:
            _require_api_key(request)
        call = Call(request=request, path=dict(path_args))
        if route.query is not None:
            call.query = _parse_query(route.query, request)
        if route.body is not None:
            call.raw_body = read_body(request)
            call.body = _validate(route.body, parse_json(call.raw_body), "body")
        key = request.headers.get(idempotency.HEADER) if route.idempotent else None
        if key is None:
            return _to_flask(_render(route, route.handler(call)))
        if not re.fullmatch(idempotency.KEY_PATTERN, key):
            raise BadRequest(f"{idempotency.HEADER} must be 1..255 printable ASCII characters")
        request_shape = {
            "path": call.path,
            "body": call.body.model_dump(mode="json") if call.body is not None else None,
        }
        digest = idempotency.fingerprint(f"{route.method} {route.rule}", request_shape)
        response = idempotency.once(key, digest, lambda: _render(route, route.handler(call)))
        return _to_flask(response)

    def _openapi(self, _call: Call) -> dict[str, Any]:
        from shared.openapi import build_document

        return build_document(self)

    def _prefixed_openapi(self, call: Call) -> dict[str, Any]:
        return self._openapi(call)


def _healthz(_call: Call) -> dict[str, str]:
    return {"status": "ok"}


def _readyz(_call: Call) -> dict[str, str]:
    db.ping()
    return {"status": "ready"}


def _require_api_key(request: flask.Request) -> None:
    supplied = request.headers.get("X-API-Key")
    if not supplied:
        raise Unauthorized(
            "this operation needs an X-API-Key header", headers={"WWW-Authenticate": "ApiKey"}
        )
    supplied_bytes = supplied.encode("utf-8", "surrogateescape")
    matched = False
    for key in get_settings().api_keys:  # compare against every key: timing leaks nothing
        matched |= hmac.compare_digest(supplied_bytes, key.get_secret_value().encode())
    if not matched:
        raise Forbidden("the API key is not valid")


def read_body(request: flask.Request) -> bytes:
    """The raw JSON body, enforcing content type and size before and while reading."""
    limit = get_settings().max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes")
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("the body must be UTF-8 encoded")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes")
    return raw


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity, no raw control characters."""
    if not raw.strip():
        raise BadRequest("the request body is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        return json.loads(text.removeprefix("\ufeff"), parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None


def _validate(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise problems.from_validation(error, where) from None


def _parse_query(model: type[BaseModel], request: flask.Request) -> BaseModel:
    repeated = [key for key, values in request.args.lists() if len(values) > 1]
    if repeated:
        raise BadRequest(f"query parameter given more than once: {', '.join(repeated)}")
    return _validate(model, request.args.to_dict(), "query")


def _render(route: Route, result: Any) -> idempotency.Response:
    reply = result if isinstance(result, Reply) else Reply(route.status, result)
    headers = dict(reply.headers)
    if reply.body is None:
        return idempotency.Response(reply.status, "", headers)
    headers["Content-Type"] = "application/json"
    return idempotency.Response(reply.status, to_json(reply.body), headers)


def _to_flask(rendered: idempotency.Response) -> flask.Response:
    response = flask.Response(rendered.body or None, status=rendered.status)
    response.headers.update(rendered.headers)
    if rendered.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def to_json(body: Any) -> str:
    if isinstance(body, BaseModel):
        return body.model_dump_json()
    return json.dumps(body, ensure_ascii=False, default=str)


def _preflight(adapter: Any, path: str) -> flask.Response:
    try:
        methods = adapter.allowed_methods(path)
    except WzNotFound:
        methods = []
    if not methods:
        raise NotFound(f"no resource at {path}")
    response = flask.Response(status=204)
    response.headers["Allow"] = ", ".join(sorted(set(methods) | {"OPTIONS"}))
    response.headers["Access-Control-Allow-Methods"] = response.headers["Allow"]
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    return response


def _apply_cors(request: flask.Request, response: flask.Response) -> None:
    origin = request.headers.get("Origin")
    allowed = get_settings().cors_origins
    if not origin or not allowed:
        return
    if "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
    response.headers["Access-Control-Expose-Headers"] = "Retry-After, Location"
