"""Schemathesis with every check against each function's own /openapi.json, over real HTTP.

Each run serves its function under functions-framework's CLI (as `make run` and the cloud
do) on a free port, against a database of the run's own, the committed model and the Auth
emulator's accounts; `st run` (configured by schemathesis.toml at the repository root) then
generates positive and negative requests from the document, including its coverage, fuzzing
and stateful phases. Every function is run with the API key; those with writes again with
an admin's ID token, and reviews with a member's (the document declares both schemes on
every operation, so either credential must pass). The runs go at once to keep the wall time
down, so each has its own database: a movie or review that one run creates must not be
deleted by another run's generated `DELETE` (ids are small serials, so they meet), which
the stateful phase would report as a created resource that is not found (ST302).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.localpg import EmbeddedPostgres, free_port
from infra.stack import Function, function_command
from tests.conftest import TEMPLATE
from tests.support import API_KEY, REPO
from tests.support.identity import Accounts
from tests.support.processes import Serving

ST = Path(sys.executable).with_name("st")
# (function, credential): every function with the API key, the writers again with accounts
PLAN = (
    ("movies", "API key"),
    ("reviews", "API key"),
    ("ratings", "API key"),
    ("movies", "admin"),
    ("reviews", "admin"),
    ("reviews", "member"),
)
Run = tuple[str, str]


@pytest.fixture
def served(
    postgres: EmbeddedPostgres,
    database: str,
    users: Accounts,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[Run, Serving]]:
    """Each run's function, serving a database of its own (a clone of the template, like the
    test's own, whose settings and Auth emulator the processes inherit)."""
    monkeypatch.setenv("API_WRITE_RATE_LIMIT", "1000000/minute")  # Schemathesis writes fast
    databases = [f"st_{uuid.uuid4().hex[:12]}" for _ in PLAN]
    served: dict[Run, Serving] = {}
    try:
        for (name, who), database_name in zip(PLAN, databases, strict=True):
            function = Function(name, name, free_port())
            url = postgres.create_database(database_name, TEMPLATE)
            served[name, who] = Serving.start(
                f"{name} for the {who} run",
                f"http://127.0.0.1:{function.port}",
                function_command(function),
                env={**os.environ, "DATABASE_URL": url},
                cwd=REPO,
                log=tmp_path / f"{name}-{who.replace(' ', '-')}.log",
            )
        for server in served.values():
            server.wait_serving("/openapi.json", timeout=90)
        yield served
    finally:
        for server in served.values():
            server.stop()
        for database_name in databases:
            postgres.drop_database(database_name)


@pytest.mark.timeout(600)
def test_schemathesis_finds_no_failure_in_any_function(
    served: dict[Run, Serving], users: Accounts
) -> None:
    credentials = {
        "API key": f"X-API-Key: {API_KEY}",
        "admin": f"Authorization: Bearer {users.admin().id_token}",
        "member": f"Authorization: Bearer {users.member().id_token}",
    }
    runs = {
        run: subprocess.Popen(
            [
                str(ST),
                "run",
                f"{served[run].url}/openapi.json",
                "--no-color",
                "-H",
                credentials[run[1]],
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for run in PLAN
    }
    outputs = {run: process.communicate(timeout=540)[0] for run, process in runs.items()}
    for (name, who), output in outputs.items():
        print(f"--- {name} with {who}: {_summary(output)}")
    failed = [run for run in PLAN if runs[run].returncode != 0]
    assert not failed, "\n\n".join(
        f"=== {run}\n{outputs[run][-6000:]}\n--- its function's log\n{served[run].output()}"
        for run in failed
    )


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
