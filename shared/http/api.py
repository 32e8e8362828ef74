"""Api: one function's routes, and the path every request takes through them.

A request: header limits (limits.py) -> CORS preflight or the matching route (404, 405 with
Allow) -> authorize (auth.py: the caller, verified and allowed where the route requires a
permission) -> path ids, query and body, validated (parsing.py) -> the handler (with its
caller if it asks) -> its result rendered (replies.py), once per Idempotency-Key on
idempotent routes (idempotency.py) -> CORS headers -> one log line. Any ApiError on the way
is rendered as problem+json (problems.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, Unpack

import flask
from pydantic import BaseModel
from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed
from werkzeug.exceptions import NotFound as WzNotFound
from werkzeug.routing import BaseConverter, Map, MapAdapter, Rule
from werkzeug.routing.exceptions import RoutingException

from shared import db, logs, tracing
from shared.errors import ApiError, MethodNotAllowed, NotFound
from shared.http import auth, cors, idempotency, limits, problems
from shared.http.framework import attach_to_framework, to_flask
from shared.http.openapi import build_document
from shared.http.parsing import parse_body, parse_query, path_id, read_body
from shared.http.replies import Rendered, render
from shared.http.routes import Route, RouteOptions, describe
from shared.settings import get_settings

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


class IdConverter(BaseConverter):
    """Any integer segment: the handler's int parameter decides (0 or beyond bigint is a
    404), so an unsupported method on any numeric id is a 405 with the item's Allow."""

    regex = "-?[0-9]+"


class Status(BaseModel):
    status: str


class Api:
    """One function's routes; calling the instance is the functions-framework entry point.

    Every response of the function is JSON or problem+json, including the framework's own
    errors (paths Flask cannot route, methods it refuses): Api attaches to the
    functions-framework app that is loading it.
    """

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
        attach_to_framework()
        limits.raise_server_limits()

    def route(
        self, rule: str, method: str, **options: Unpack[RouteOptions]
    ) -> Callable[[HandlerT], HandlerT]:
        """Register the decorated handler for `method` on `rule`."""

        def register(handler: HandlerT) -> HandlerT:
            route = describe(rule, method, handler, **options)
            self.routes.append(route)
            self._map.add(Rule(rule, methods=[method], endpoint=route))
            return handler

        return register

    def get(self, rule: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        return self.route(rule, "GET", **options)

    def post(self, rule: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        return self.route(rule, "POST", **options)

    def patch(self, rule: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        return self.route(rule, "PATCH", **options)

    def delete(self, rule: str, **options: Unpack[RouteOptions]) -> Callable[[HandlerT], HandlerT]:
        return self.route(rule, "DELETE", **options)

    def __call__(self, request: flask.Request) -> flask.Response:
        started = time.perf_counter()
        settings = get_settings()
        logs.configure(settings.log_level)
        with tracing.server_span(request.headers, request.method):
            problem = None
            try:
                response = self._dispatch(request)
            except ApiError as error:
                response = problems.render(error, request.path)
                problem = error.title
            except Exception as exc:
                response = problems.render_unexpected(exc, request.path)
                problem = ApiError.title
            cors.apply(request, response)
            logs.log_request(request, response, time.perf_counter() - started, problem)
        return response

    def _dispatch(self, request: flask.Request) -> flask.Response:
        limits.check_headers(request)
        adapter = self._map.bind_to_environ(request.environ)
        if request.method == "OPTIONS":
            return cors.preflight(adapter, request.path)
        route, path_args = _match(adapter, request)
        tracing.rename(f"{route.method} {route.rule}")
        with tracing.span("authorize"):
            caller = auth.authorize(route, request)
        with tracing.span("validate"):
            arguments = _arguments(route, path_args, request)
        if route.caller is not None:
            arguments[route.caller] = caller if route.caller == "caller" else caller.principal()
        key = idempotency.request_key(request) if route.idempotent else None

        def respond() -> Rendered:
            with tracing.span("handler"):
                result = route.handler(**arguments)
            with tracing.span("render"):
                return render(result, route.status)

        if key is None:
            return to_flask(respond())
        digest = idempotency.fingerprint(f"{route.method} {route.rule}", arguments, caller)
        return to_flask(idempotency.once(key, digest, respond))

    def _openapi(self) -> dict[str, Any]:
        return build_document(self.title, self.description, self.routes)

    def _prefixed_openapi(self) -> dict[str, Any]:
        return self._openapi()


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


def _arguments(
    route: Route, path_args: Mapping[str, Any], request: flask.Request
) -> dict[str, Any]:
    """The handler's arguments, each validated: path ids, then the query, then the body."""
    arguments: dict[str, Any] = {name: path_id(path_args[name]) for name in route.path_params}
    if route.query is not None:
        arguments["query"] = parse_query(route.query, request)
    if route.body is not None:
        arguments["body"] = parse_body(route.body, read_body(request))
    return arguments


def _healthz() -> Status:
    return Status(status="ok")


def _readyz() -> Status:
    db.ping()
    return Status(status="ready")
