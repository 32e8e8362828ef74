"""Helpers shared by test modules (fixtures live in conftest.py files).

This package holds every helper more than one test module uses, one module per subject:
`uploads` (objects, CloudEvents, exactness checks), `ratings` (rows written with plain SQL),
`rescore` (a second model version, job runs), `web` (live servers, HTML parsing),
`fake_run_api` (the Cloud Run Admin API), `processes` (a server of ours started as a
process, logged, waited for), `rehearsal` (the cloud's stand-ins and our processes started
against them) and `cloud_edge` (the Cloud SQL connector's tunnel and the Admin API faked
inside a rehearsed process).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import flask
from flask.testing import FlaskClient

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
API_KEY = "test-key-1"


def function_app(name: str, target: str | None = None, signature: str = "http") -> flask.Flask:
    """functions-framework's own WSGI app for functions/<name>/main.py."""
    from functions_framework import create_app

    build: Callable[[str, str, str], flask.Flask] = create_app  # the library leaves it untyped
    source = REPO / "functions" / name / "main.py"
    return build(target or name, str(source), signature)


def function_client(name: str, target: str | None = None, signature: str = "http") -> FlaskClient:
    """functions-framework's own app for functions/<name>/main.py, as a Flask test client."""
    return function_app(name, target, signature).test_client()
