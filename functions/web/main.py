"""Web console function: entry point only; pages, API calls and docs live in shared.web."""

from __future__ import annotations

import flask
import functions_framework

from shared.web.app import handle


@functions_framework.http
def web(request: flask.Request) -> flask.Response:
    return handle(request)
