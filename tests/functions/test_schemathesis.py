"""Schemathesis with every check against each function's own /openapi.json, over real HTTP.

Each function runs under functions-framework's app in a threaded server on a free port,
against this test's database, the committed model and the Auth emulator's accounts; `st run`
(configured by schemathesis.toml at the repository root) then generates positive and
negative requests from the document, including its coverage, fuzzing and stateful phases.
Every function is run with the API key; those with writes again with an admin's ID token,
and reviews with a member's (the document declares both schemes on every operation, so
either credential must pass). The runs go at once to keep the wall time down.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from tests.conftest import fresh_instance
from tests.support import API_KEY, REPO, function_app
from tests.support.identity import Accounts

FUNCTIONS = ("movies", "reviews", "ratings")
ST = Path(sys.executable).with_name("st")


@pytest.fixture
def served(
    database: str, users: Accounts, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("API_WRITE_RATE_LIMIT", "1000000/minute")  # Schemathesis writes fast
    fresh_instance()
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
def test_schemathesis_finds_no_failure_in_any_function(
    served: dict[str, str], users: Accounts
) -> None:
    credentials = {
        "API key": f"X-API-Key: {API_KEY}",
        "admin": f"Authorization: Bearer {users.admin().id_token}",
        "member": f"Authorization: Bearer {users.member().id_token}",
    }
    plan = [(name, "API key") for name in FUNCTIONS]
    plan += [("movies", "admin"), ("reviews", "admin"), ("reviews", "member")]
    runs = {
        (name, who): subprocess.Popen(
            [str(ST), "run", f"{served[name]}/openapi.json", "--no-color", "-H", credentials[who]],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, who in plan
    }
    outputs = {run: process.communicate(timeout=540)[0] for run, process in runs.items()}
    for (name, who), output in outputs.items():
        print(f"--- {name} with {who}: {_summary(output)}")
    failed = {run: out for run, out in outputs.items() if runs[run].returncode != 0}
    assert not failed, "\n\n".join(f"=== {run}\n{out[-6000:]}" for run, out in failed.items())


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
