"""Web console function: entry point only; pages, API calls and docs live in shared.web."""

from __future__ import annotations

import flask
import functions_framework

from shared.settings import Need, needs
from shared.web.app import handle


@functions_framework.http
@needs(Need.IDENTITY, Need.SIGN_IN, Need.CONSOLE_KEY)  # sessions, sign-in, one CSRF key
def web(request: flask.Request) -> flask.Response:
    return handle(request)
