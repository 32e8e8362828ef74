"""A function imports only what it needs: movies and ratings never load the model runtime."""

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
print(json.dumps(sorted(m for m in ("onnxruntime", "tokenizers", "numpy", "torch")
                        if m in sys.modules)))
"""


@pytest.mark.parametrize("name", ["movies", "ratings"])
def test_function_does_not_import_the_model_runtime(name: str) -> None:
    source = REPO / "functions" / name / "main.py"
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(target=name, source=str(source))],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=REPO,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
