"""Helpers shared by tests (fixtures live in conftest.py files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
API_KEY = "test-key-1"


def function_app(name: str, target: str | None = None, signature: str = "http") -> Any:
    """functions-framework's own WSGI app for functions/<name>/main.py."""
    from functions_framework import create_app

    source = REPO / "functions" / name / "main.py"
    return create_app(target or name, str(source), signature)


def function_client(name: str, target: str | None = None, signature: str = "http") -> Any:
    """functions-framework's own app for functions/<name>/main.py, as a Flask test client."""
    return function_app(name, target, signature).test_client()
