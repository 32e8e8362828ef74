"""API documentation at the base URL: the merged OpenAPI document and Swagger UI over it."""

from __future__ import annotations

import flask

from shared.web import openapi
from shared.web.security import DOCS_CSP

bp = flask.Blueprint("docs", __name__)


@bp.get("/openapi.json")
def openapi_json() -> flask.Response:
    response = flask.jsonify(openapi.merged_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"  # a public description of the API
    return response


@bp.get("/docs")
def docs() -> flask.Response:
    response = flask.make_response(flask.render_template("docs.html"))
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response
