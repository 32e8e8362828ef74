"""A small HTTP layer for functions-framework: typed routes, limits, auth, CORS, problems, logs.

A handler declares what it takes in its signature and receives it validated: path
parameters by name (`<id:movie_id>` in the rule, `movie_id: int` in the signature),
`body: SomeModel` (a strict JSON body) and `query: SomeModel` (the query string). What it
returns is its success response: a model, `Reply[Model]` for another status or headers, or
None for 204. shared.openapi documents every route from the same signatures.

Every response of the function is JSON or problem+json, including the framework's own
errors (paths Flask cannot route, methods it refuses): Api attaches to the functions-framework
app that is loading it.
"""

from __future__ import annotations

import hmac
import inspect
import json
import re
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import NoneType
from typing import Any, Generic, TypeVar

import flask
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed
from werkzeug.exceptions import NotFound as WzNotFound
from werkzeug.routing import BaseConverter, Map, MapAdapter, Rule
from werkzeug.routing.exceptions import RoutingException

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
_DIGITS = re.compile(r"[0-9]{1,19}")
T = TypeVar("T")
HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


class IdConverter(BaseConverter):
    """Any integer segment: the handler's int parameter decides (0 or beyond bigint is a
    404), so an unsupported method on any numeric id is a 405 with the item's Allow."""

    regex = "-?[0-9]+"


@dataclass(frozen=True, slots=True)
class Reply(Generic[T]):
    """A success response with a status or headers of its own."""

    body: T
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Route:
    """One operation, as its handler's signature declares it."""

    rule: str
    method: str
    handler: Callable[..., Any]
    summary: str
    status: int
    path_params: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any  # the success body's type; None: no content
    auth: bool
    errors: tuple[int, ...]
    idempotent: bool
    description: str


class Status(BaseModel):
    status: str


class Api:
    """One function's routes; calling the instance is the functions-framework entry point."""

    def __init__(self, title: str, description: str = "", *, prefix: str | None = None) -> None:
        self.title = title
        self.description = description
        self.routes: list[Route] = []
        self._map = Map(converters={"id": IdConverter}, strict_slashes=False, merge_slashes=False)
        self.get("/healthz", summary="Liveness: the process is up")(_healthz)
        self.get("/readyz", summary="Readiness: the database answers", errors=(503,))(_readyz)
        self.get("/openapi.json", summary="This document")(self._openapi)
        if prefix:  # behind one base URL (router, load balancer) /openapi.json is the console's
            self.get(f"{prefix}/openapi.json", summary="This document, under the prefix")(
                self._prefixed_openapi
            )
        _attach_to_framework()

    def route(
        self,
        rule: str,
        method: str,
        *,
        summary: str,
        status: int | None = None,
        auth: bool = False,
        errors: tuple[int, ...] = (),
        idempotent: bool = False,
        description: str = "",
    ) -> Callable[[HandlerT], HandlerT]:
        def register(handler: HandlerT) -> HandlerT:
            route = _describe(
                rule,
                method,
                handler,
                summary=summary,
                status=status,
                auth=auth,
                errors=errors,
                idempotent=idempotent,
            )
            route = replace(route, description=description)
            self.routes.append(route)
            self._map.add(Rule(rule, methods=[method], endpoint=route))
            return handler

        return register

    def get(self, rule: str, **options: Any) -> Callable[[HandlerT], HandlerT]:
        return self.route(rule, "GET", **options)

    def post(self, rule: str, **options: Any) -> Callable[[HandlerT], HandlerT]:
        return self.route(rule, "POST", **options)

    def patch(self, rule: str, **options: Any) -> Callable[[HandlerT], HandlerT]:
        return self.route(rule, "PATCH", **options)

    def delete(self, rule: str, **options: Any) -> Callable[[HandlerT], HandlerT]:
        return self.route(rule, "DELETE", **options)

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
        route, path_args = _match(adapter, request)
        if route.auth:
            _require_api_key(request)
        kwargs: dict[str, Any] = {name: _id(path_args[name]) for name in route.path_params}
        if route.query is not None:
            kwargs["query"] = _parse_query(route.query, request)
        if route.body is not None:
            kwargs["body"] = parse_body(route.body, read_body(request))
        key = request.headers.get(idempotency.HEADER) if route.idempotent else None
        if key is None:
            return _to_flask(_render(route, route.handler(**kwargs)))
        if not re.fullmatch(idempotency.KEY_PATTERN, key):
            raise BadRequest(f"{idempotency.HEADER} must be 1..255 printable ASCII characters")
        shape = {
            name: value.model_dump(mode="json") if isinstance(value, BaseModel) else value
            for name, value in kwargs.items()
        }
        digest = idempotency.fingerprint(f"{route.method} {route.rule}", shape)
        response = idempotency.once(key, digest, lambda: _render(route, route.handler(**kwargs)))
        return _to_flask(response)

    def _openapi(self) -> dict[str, Any]:
        from shared.openapi import build_document

        return build_document(self)

    def _prefixed_openapi(self) -> dict[str, Any]:
        return self._openapi()


def _describe(
    rule: str,
    method: str,
    handler: Callable[..., Any],
    *,
    summary: str,
    status: int | None,
    auth: bool,
    errors: tuple[int, ...],
    idempotent: bool,
) -> Route:
    """The route a handler's signature declares; a signature the layer cannot serve fails here."""
    hints = typing.get_type_hints(handler)
    in_rule = set(re.findall(r"<(?:\w+:)?(\w+)>", rule))
    path_params: list[str] = []
    body = query = None
    for name in inspect.signature(handler).parameters:
        kind = hints.get(name)
        if name in in_rule and kind is int:
            path_params.append(name)
        elif name in ("body", "query") and isinstance(kind, type) and issubclass(kind, BaseModel):
            body, query = (kind, query) if name == "body" else (body, kind)
        else:
            raise TypeError(f"{handler.__name__}: cannot supply parameter {name!r} ({kind})")
    if set(path_params) != in_rule:
        raise TypeError(f"{handler.__name__}: takes no parameter for {in_rule - set(path_params)}")
    returned = hints.get("return", NoneType)
    if typing.get_origin(returned) is Reply:
        response = typing.get_args(returned)[0]
    else:
        response = None if returned is NoneType else returned
    default_status = 204 if response is None else 200
    return Route(
        rule,
        method,
        handler,
        summary,
        status or default_status,
        tuple(path_params),
        body,
        query,
        response,
        auth,
        errors,
        idempotent,
        "",
    )


def _match(adapter: MapAdapter, request: flask.Request) -> tuple[Route, Mapping[str, Any]]:
    try:
        route, path_args = adapter.match(method=request.method)
    except WzMethodNotAllowed as error:
        raise MethodNotAllowed(
            f"{request.method} is not allowed here",
            headers={"Allow": ", ".join(sorted(error.valid_methods or []))},
        ) from None
    except (WzNotFound, RoutingException):
        raise NotFound(f"no resource at {request.path}") from None
    assert isinstance(route, Route)
    return route, path_args


def _id(segment: str) -> int:
    """A path id: a positive bigint, or there is no such resource (404)."""
    if _DIGITS.fullmatch(segment) and 1 <= int(segment) <= MAX_ID:
        return int(segment)
    raise NotFound(f"no resource has the id {segment[:40]!r}")


def _healthz() -> Status:
    return Status(status="ok")


def _readyz() -> Status:
    db.ping()
    return Status(status="ready")


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


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"duplicate keys: {', '.join(repeated)}")
    return dict(pairs)


def parse_json(raw: bytes) -> str:
    """The body's text once it is strict JSON: UTF-8, no NaN/Infinity, no duplicate keys."""
    if not raw.strip():
        raise BadRequest("the request body is empty")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise BadRequest(f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except (json.JSONDecodeError, ValueError) as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    return text


def parse_body(model: type[T], raw: bytes) -> T:
    """The body as `model`, validated strictly: JSON types only, no coercion (true is no id)."""
    text = parse_json(raw)
    assert issubclass(model, BaseModel)
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as error:
        raise problems.from_validation(error, "body") from None


def _parse_query(model: type[BaseModel], request: flask.Request) -> BaseModel:
    repeated = [key for key, values in request.args.lists() if len(values) > 1]
    if repeated:
        raise BadRequest(f"query parameter given more than once: {', '.join(repeated)}")
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise problems.from_validation(error, "query") from None


def _render(route: Route, result: Any) -> idempotency.Response:
    reply = result if isinstance(result, Reply) else Reply(result, route.status)
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


def _preflight(adapter: MapAdapter, path: str) -> flask.Response:
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


def _attach_to_framework() -> None:
    """Make the framework's own errors problems too, in the app loading this function.

    functions-framework runs a function's source inside its Flask app's context. Its router
    hands every path to the function, except ones it cannot route (say, a path holding a
    line feed); those and its other errors become problem+json here. Merging slashes off:
    Flask would otherwise answer `//x` with a redirect rather than the function's 404.
    """
    if not flask.has_app_context():
        return
    app = flask.current_app
    app.url_map.merge_slashes = False
    app.register_error_handler(HTTPException, _framework_error)


def _framework_error(error: HTTPException) -> flask.Response:
    status = error.code or 500
    problem = ApiError(error.description or error.name)
    problem.status, problem.title = status, error.name
    problem.type_slug = {404: "not-found", 405: "method-not-allowed"}.get(status, "http")
    if isinstance(error, WzMethodNotAllowed) and error.valid_methods:
        problem.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return problems.render(problem, flask.request.path)


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
