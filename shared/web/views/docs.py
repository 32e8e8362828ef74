"""API documentation at the base URL: the merged OpenAPI document and Swagger UI over it."""

from __future__ import annotations

import flask

from shared.web import openapi
from shared.web.client import ApiUnavailable
from shared.web.security import DOCS_CSP

bp = flask.Blueprint("docs", __name__)


@bp.get("/openapi.json")
def openapi_json() -> flask.Response:
    try:
        document = openapi.merged_document()
    except ApiUnavailable as down:  # a JSON client gets a problem, not the HTML error page
        problem = {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "an API function did not answer with its document; try again",
        }
        response = flask.jsonify(problem)
        response.status_code = 503
        response.mimetype = "application/problem+json"
        response.headers["Retry-After"] = down.retry_after or "5"
        return response
    response = flask.jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"  # a public description of the API
    return response


@bp.get("/docs")
def docs() -> flask.Response:
    response = flask.make_response(flask.render_template("docs.html"))
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response
