"""The glue to functions-framework and Flask: rendered responses out, the framework's own
errors as problems."""

from __future__ import annotations

import flask
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed

from shared.errors import ApiError
from shared.http import problems
from shared.http.replies import Rendered

REPLAYED_HEADER = "Idempotent-Replayed"


def to_flask(rendered: Rendered) -> flask.Response:
    response = flask.Response(rendered.body or None, status=rendered.status)
    response.headers.update(rendered.headers)
    if rendered.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def attach_to_framework() -> None:
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
