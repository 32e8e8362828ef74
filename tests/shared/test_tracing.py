"""Traces: spans of a request and of an upload, continuing the caller's trace, in a file.

Through the real surfaces: functions-framework's apps (HTTP and CloudEvent), the real SDK
exporting to TRACE_FILE (what `make run` uses), PostgreSQL and the GCS emulator.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.router import trace_context
from shared import tracing
from tests.conftest import fresh_instance
from tests.support import REPO, function_client
from tests.support.traces import TRACE, spans, trace_of
from tests.support.uploads import create_movies, deliver, event_for, fixture, put, use_model


def test_trace_ids_from_either_header() -> None:
    assert tracing.header_trace_id({"X-Cloud-Trace-Context": f"{TRACE}/1;o=1"}) == TRACE
    assert tracing.header_trace_id({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}) == TRACE
    assert tracing.header_trace_id({"traceparent": "garbage"}) is None
    assert tracing.header_trace_id({}) is None


def test_tracing_off_imports_no_opentelemetry() -> None:
    """Off (the default), spans are a shared no-op and the SDK is never imported."""
    probe = (
        "import sys\n"
        "from shared import tracing\n"
        "with tracing.span('x'), tracing.server_span({'traceparent': 'a'}, 'y') as t: pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_request_continues_the_load_balancers_trace(
    database: str, traced: Path, auth: dict[str, str]
) -> None:
    movies = function_client("movies")
    header = {"X-Cloud-Trace-Context": f"{TRACE}/1;o=1"}
    response = movies.post("/movies", json={"title": "추적"}, headers={**auth, **header})
    assert response.status_code == 201
    found = [s for s in spans(traced) if trace_of(s) == TRACE]
    names = {s["name"] for s in found}
    assert "POST /movies" in names  # the request, named by its route
    assert {"validate", "handler", "render"} <= names
    assert any(name.startswith("sql ") for name in names)  # every round trip a span
    root = next(s for s in found if s["name"] == "POST /movies")
    assert root["kind"] == "SpanKind.SERVER"
    assert root["resource"]["attributes"]["service.name"] == "movies"


def test_w3c_traceparent_alone_is_continued_and_an_unsampled_parent_follows_the_ratio(
    database: str, traced: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    movies = function_client("movies")
    movies.get("/movies", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-00"})
    assert {trace_of(s) for s in spans(traced)} == {TRACE}
    # the router's and the load balancer's headers make no decision: the ratio decides
    monkeypatch.setenv("TRACE_SAMPLE_RATIO", "0")
    fresh_instance()
    other = "0af7651916cd43dd8448eb211c80319c"
    function_client("movies").get(
        "/movies", headers={"traceparent": f"00-{other}-00f067aa0ba902b7-00"}
    )
    assert other not in {trace_of(s) for s in spans(traced)}


def test_an_upload_is_one_trace_from_the_events_traceparent(
    database: str, gcs: Any, traced: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch)
    create_movies(3)
    blob = put(gcs, "traced/mixed.jsonl", fixture("mixed.jsonl"))
    event = event_for(blob)
    event["traceparent"] = f"00-{TRACE}-00f067aa0ba902b7-01"
    response = deliver(function_client("reviews", "on_upload", "cloudevent"), event)
    assert response.status_code == 200, response.get_data(as_text=True)
    found = [s for s in spans(traced) if trace_of(s) == TRACE]
    names = [s["name"] for s in found]
    for name in ("upload event", "upload.process", "storage.read", "validate", "score"):
        assert name in names, names
    assert {"upload.batch.prepare", "upload.batch.commit"} <= set(names)
    commit = next(s for s in found if s["name"] == "upload.batch.commit")
    inside = [s for s in found if s["parent_id"] == commit["context"]["span_id"]]
    assert any("INSERT INTO reviews" in s["attributes"].get("db.statement", "") for s in inside)


def test_a_job_execution_gets_the_starters_trace(traced: Path) -> None:
    with tracing.server_span({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}, "event"):
        overrides = tracing.env_carrier()
    assert overrides[tracing.TRACEPARENT_ENV].split("-")[1] == TRACE


def test_the_router_starts_a_trace_as_the_load_balancer_does() -> None:
    added = trace_context({"Accept": "*/*"})
    trace_id = added["X-Cloud-Trace-Context"].split("/")[0]
    assert added["traceparent"].split("-")[1] == trace_id
    assert tracing.header_trace_id(added) == trace_id
    assert trace_context({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}) == {}
    assert trace_context({"x-cloud-trace-context": f"{TRACE}/1"}) == {}


def test_cloud_trace_without_credentials_drops_spans_and_serves(
    database: str, traced: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """TRACE_EXPORTER=cloud (what Terraform sets): the exporter is made on the exporting
    thread, so a process without credentials (a laptop, the rehearsal) serves as usual and
    says once that its spans are dropped."""
    monkeypatch.setenv("TRACE_EXPORTER", "cloud")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(traced.parent / "missing.json"))
    fresh_instance()
    movies = function_client("movies")
    header = {"X-Cloud-Trace-Context": f"{TRACE}/1;o=1"}
    assert movies.get("/movies", headers=header).status_code == 200
    assert movies.get("/movies", headers=header).status_code == 200
    tracing.flush()
    dropped = [r for r in caplog.records if r.name == "shared.tracing"]
    assert len(dropped) == 1 and "dropped" in dropped[0].getMessage()
    assert not traced.exists()
