"""A function imports only what it needs: movies and ratings never load the model runtime,
and no function loads firebase_admin before it verifies an identity."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import REPO

PROBE = """
import json, sys
from functions_framework import create_app
create_app({target!r}, {source!r}, "http")
print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))
"""
MODEL_RUNTIME = ("onnxruntime", "tokenizers", "numpy", "torch")


def _loaded_at_start(name: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh process has imported once the function's app exists."""
    source = REPO / "functions" / name / "main.py"
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
        "FIREBASE_PROJECT_ID": "demo-imports",  # movies and reviews verify users
        "FIREBASE_WEB_API_KEY": "demo-key",  # the web console signs users in
    }
    probe = PROBE.format(target=name, source=str(source), modules=modules)
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=REPO,
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("name", ["movies", "ratings"])
def test_function_does_not_import_the_model_runtime(name: str) -> None:
    assert _loaded_at_start(name, MODEL_RUNTIME) == []


@pytest.mark.parametrize("name", ["movies", "reviews", "ratings", "web"])
def test_no_function_loads_firebase_admin_at_cold_start(name: str) -> None:
    """Identity verification imports firebase_admin on first use (~0.2-0.3 s), never at start."""
    assert _loaded_at_start(name, ("firebase_admin",)) == []
