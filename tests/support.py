"""Helpers shared by tests (fixtures live in conftest.py files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
API_KEY = "test-key-1"


def function_client(name: str, target: str | None = None, signature: str = "http") -> Any:
    """functions-framework's own app for functions/<name>/main.py, as a Flask test client."""
    from functions_framework import create_app

    source = REPO / "functions" / name / "main.py"
    return create_app(target or name, str(source), signature).test_client()
