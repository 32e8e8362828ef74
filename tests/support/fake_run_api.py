"""A stand-in for the Cloud Run Admin API's `jobs.run` over REST: the one edge we cannot reach.

The real google-cloud-run client talks to it (REST transport, http endpoint), so the test
sees the request exactly as it would go on the wire. Each call records the JSON body and
answers with a long-running Operation whose metadata is the new Execution, as the API does.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infra.localpg import free_port

RUN = re.compile(r"^/v2/(?P<job>projects/[^/]+/locations/[^/]+/jobs/[^/:]+):run$")


@dataclass
class FakeRunApi:
    endpoint: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    # what `executions.get` answers, by execution name (camelCase REST fields)
    executions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # called with (job, execution, body) before `jobs.run` answers: runs the execution (the
    # rehearsal) and returns the Execution as `executions.get` should answer, or None
    on_run: Callable[[str, str, dict[str, Any]], dict[str, Any] | None] | None = None

    def _options(self) -> dict[str, Any]:
        from google.auth import credentials

        anonymous: Any = credentials.AnonymousCredentials  # untyped in google-auth
        return {
            "transport": "rest",
            "credentials": anonymous(),
            "client_options": {"api_endpoint": self.endpoint},
        }

    def client(self) -> Any:
        from google.cloud import run_v2

        return run_v2.JobsClient(**self._options())

    def executions_client(self) -> Any:
        from google.cloud import run_v2

        return run_v2.ExecutionsClient(**self._options())


@contextmanager
def fake_run_api() -> Iterator[FakeRunApi]:
    api = FakeRunApi("")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            name = self.path.split("?", 1)[0].removeprefix("/v2/")
            state = api.executions.get(name)
            if state is None:
                self._answer(404, {"error": {"code": 404, "message": f"{name} not found"}})
            else:
                self._answer(200, {"name": name, **state})

        def do_POST(self) -> None:
            match = RUN.match(self.path.split("?", 1)[0])
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if match is None or api.status != 200:
                self._answer(api.status if match else 404, {"error": {"code": 404}})
                return
            with lock:
                api.calls.append({"job": match["job"], "body": body})
                number = len(api.calls)
            job = match["job"]
            short = job.rsplit("/", 1)[-1]
            execution = f"{job}/executions/{short}-{number:05d}"
            state = api.on_run(job, execution, body) if api.on_run else None
            if state is not None:
                api.executions[execution] = state
            self._answer(
                200,
                {
                    "name": f"{job.rsplit('/jobs/', 1)[0]}/operations/op-{number}",
                    "metadata": {
                        "@type": "type.googleapis.com/google.cloud.run.v2.Execution",
                        "name": execution,
                        "job": short,
                        "taskCount": body.get("overrides", {}).get("taskCount", 1),
                    },
                    "done": False,
                },
            )

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    api.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def launcher_on_fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunApi]:
    """The job launcher in cloud mode (JOB_RUNNER=cloud), its Admin API a fresh fake."""
    from shared.jobs import launcher
    from shared.settings import get_settings

    monkeypatch.setenv("JOB_RUNNER", "cloud")
    get_settings.cache_clear()
    with fake_run_api() as api:
        client = api.client()
        monkeypatch.setattr(launcher, "jobs_client", lambda: client)
        yield api
    get_settings.cache_clear()
