"""Import time and memory of each function on its own, as a fresh instance would load it.

Run: .venv/bin/python bench/cold_start.py
Each function is loaded in a new interpreter through functions-framework's create_app,
then serves /healthz once; we report wall time and peak RSS, and which heavy modules
were imported (movies and ratings must not import onnxruntime or tokenizers).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("onnxruntime", "tokenizers", "numpy", "torch")
PROBE = """
import json, resource, sys, time
t0 = time.perf_counter()
from functions_framework import create_app
app = create_app({target!r}, {source!r}, {signature!r})
t1 = time.perf_counter()
if {signature!r} == "http":
    app.test_client().get("/healthz")
t2 = time.perf_counter()
print(json.dumps({{
    "import_ms": round((t1 - t0) * 1000, 1),
    "first_request_ms": round((t2 - t1) * 1000, 1),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "heavy_modules": [m for m in {heavy!r} if m in sys.modules],
}}))
"""
FUNCTIONS = (
    ("movies", "movies", "http"),
    ("reviews", "reviews", "http"),
    ("ratings", "ratings", "http"),
    ("reviews", "on_upload", "cloudevent"),
)


def measure(name: str, target: str, signature: str) -> dict[str, Any]:
    source = str(REPO / "functions" / name / "main.py")
    code = PROBE.format(target=target, source=source, signature=signature, heavy=HEAVY)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=REPO
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    print(f"{'function':<22}{'import ms':>10}{'1st req ms':>12}{'peak RSS MB':>13}  heavy")
    for name, target, signature in FUNCTIONS:
        if not (REPO / "functions" / name / "main.py").exists():
            continue
        row = measure(name, target, signature)
        print(
            f"{name + ':' + target:<22}{row['import_ms']:>10}{row['first_request_ms']:>12}"
            f"{row['peak_rss_mb']:>13}  {','.join(row['heavy_modules']) or '-'}"
        )


if __name__ == "__main__":
    main()
