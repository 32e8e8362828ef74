"""Schemathesis with every check against each function's own /openapi.json, over real HTTP.

Each function runs under functions-framework's app in a threaded server on a free port,
against this test's database and the committed model; `st run` (configured by
schemathesis.toml at the repository root) then generates positive and negative requests
from the document, including its coverage, fuzzing and stateful phases. The three run at
once to keep the wall time down.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from tests.support import API_KEY, REPO, function_app

FUNCTIONS = ("movies", "reviews", "ratings")
ST = Path(sys.executable).with_name("st")


@pytest.fixture
def served(database: str) -> Iterator[dict[str, str]]:
    servers: list[BaseWSGIServer] = []
    urls = {}
    for name in FUNCTIONS:
        server = make_server("127.0.0.1", 0, function_app(name), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls[name] = f"http://127.0.0.1:{server.server_port}"
    yield urls
    for server in servers:
        server.shutdown()


@pytest.mark.timeout(600)
def test_schemathesis_finds_no_failure_in_any_function(served: dict[str, str]) -> None:
    env = {**os.environ, "SCHEMATHESIS_API_KEY": API_KEY}
    runs = {
        name: subprocess.Popen(
            [str(ST), "run", f"{url}/openapi.json", "--no-color"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, url in served.items()
    }
    outputs = {name: run.communicate(timeout=540)[0] for name, run in runs.items()}
    for name, output in outputs.items():
        print(f"--- {name}: {_summary(output)}")
    failed = {name: out for name, out in outputs.items() if runs[name].returncode != 0}
    assert not failed, "\n\n".join(f"=== {name}\n{out[-6000:]}" for name, out in failed.items())


def _summary(output: str) -> str:
    """'7 operations, 363 test cases, 0 failures (seed ...)' from st's closing lines."""
    tested = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated, (?:(\d+) found)?", output)
    seed = re.search(r"Seed: (\d+)", output)
    failures = cases.group(2) if cases and cases.group(2) else "0"
    return (
        f"{tested.group(1) if tested else '?'} operations, "
        f"{cases.group(1) if cases else '?'} test cases, {failures} failures "
        f"(seed {seed.group(1) if seed else '?'})"
    )
