"""The local Eventarc stand-in and the upload CLI, over real HTTP and the GCS emulator."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from cloudevents.http import CloudEvent
from werkzeug.serving import make_server

from infra import upload as upload_cli
from infra.eventarc import Backoff, Forwarder
from infra.localpg import free_port
from tests.support import function_client
from tests.support.uploads import (
    FIXTURES,
    assert_exact,
    create_movies,
    put,
    use_model,
)

FAST = Backoff(base=0.01, cap=0.05)


class Recorder(BaseHTTPRequestHandler):
    """Answers 500 to the first delivery of each object, 204 afterwards."""

    received: ClassVar[list[tuple[dict[str, str], dict[str, Any]]]] = []
    failed: ClassVar[set[tuple[str, str]]] = set()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((dict(self.headers.items()), body))
        key = (body["name"], body["generation"])
        first = key not in self.failed
        self.failed.add(key)
        self.send_response(500 if first else 204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.received, Recorder.failed = [], set()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def running(forwarder: Forwarder) -> threading.Thread:
    thread = threading.Thread(target=forwarder.run, daemon=True)
    thread.start()
    return thread


def wait_until(condition: Callable[[], object], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_backoff_is_capped_and_jittered() -> None:
    backoff = Backoff(base=0.5, cap=60)
    delays = [backoff.delay(n) for n in range(40)]
    assert all(0 <= d <= 60 for d in delays)
    assert len(set(delays)) > 30


def test_forwards_each_generation_once_retrying_failures(gcs: Any, recorder: str) -> None:
    put(gcs, "a.jsonl", b"{}\n")
    put(gcs, "reports/a.jsonl.json", b"{}")
    put(gcs, "rejects/a.jsonl.jsonl", b"{}\n")
    b = put(gcs, "b.csv", b"movie_id,author,content\n")
    forwarder = Forwarder("uploads", recorder, interval=0.05, backoff=FAST)
    thread = running(forwarder)
    try:
        wait_until(lambda: len(Recorder.received) >= 4)
        b2 = put(gcs, "b.csv", b"movie_id,author,content\n1,a,b\n")
        wait_until(lambda: len(Recorder.received) >= 6)
        time.sleep(0.3)  # nothing more should arrive
    finally:
        forwarder.stopping.set()
        thread.join(timeout=10)

    names = sorted((body["name"], body["generation"]) for _, body in Recorder.received)
    assert names == sorted(
        [("a.jsonl", names[0][1])] * 2
        + [("b.csv", str(b.generation))] * 2
        + [("b.csv", str(b2.generation))] * 2
    )
    headers, body = Recorder.received[0]
    assert headers["ce-type"] == "google.cloud.storage.object.v1.finalized"
    assert headers["ce-source"] == "//storage.googleapis.com/projects/_/buckets/uploads"
    assert headers["ce-subject"] == f"objects/{body['name']}"
    assert headers["ce-specversion"] == "1.0" and headers["ce-id"] and headers["ce-time"]
    assert set(body) >= {
        "bucket",
        "name",
        "generation",
        "metageneration",
        "size",
        "contentType",
        "timeCreated",
        "updated",
    }
    assert isinstance(body["size"], str) and isinstance(body["generation"], str)


def test_every_generation_is_delivered_even_several_between_two_polls(
    gcs: Any, recorder: str
) -> None:
    """Three generations of one object in a few milliseconds (the first two gone from a
    listing by the next poll): three events, each with its own generation and size."""
    blob = gcs.create_bucket("uploads").blob("a.jsonl")
    forwarder = Forwarder("uploads", recorder, interval=1.0, backoff=FAST)
    thread = running(forwarder)
    try:
        wait_until(lambda: forwarder.since is not None)  # the first poll is done
        written = {}
        for data in (b"{}\n", b"{}\n{}\n", b"{}\n{}\n{}\n"):
            blob.upload_from_string(data)
            written[str(blob.generation)] = str(len(data))
        wait_until(lambda: len(Recorder.received) >= 6)  # each fails once, then succeeds
        time.sleep(0.3)  # nothing more should arrive
    finally:
        forwarder.stopping.set()
        thread.join(timeout=10)
    delivered = [(body["generation"], body["size"]) for _, body in Recorder.received]
    assert len(delivered) == 6 and dict(delivered) == written


def test_connection_errors_are_retried_until_stopped() -> None:
    forwarder = Forwarder("uploads", f"http://127.0.0.1:{free_port()}/", backoff=FAST)
    event = CloudEvent({"type": "t", "source": "s"}, {"name": "x"})
    timer = threading.Timer(0.3, forwarder.stopping.set)
    timer.start()
    assert forwarder.deliver(event) is False


@pytest.fixture
def function_server(database: str, gcs: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The reviews CloudEvent function served over HTTP, as functions-framework would."""
    use_model(monkeypatch)
    create_movies(3)
    app = function_client("reviews", target="on_upload", signature="cloudevent").application
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_upload_cli_end_to_end(
    function_server: str, gcs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    gcs.create_bucket("uploads")
    forwarder = Forwarder("uploads", function_server, interval=0.1, backoff=FAST)
    thread = running(forwarder)
    try:
        code = upload_cli.main(
            [str(FIXTURES / "quoted.csv"), "--name", "cli/quoted.csv", "--timeout", "60"]
        )
    finally:
        forwarder.stopping.set()
        thread.join(timeout=10)
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["status"], report["lines"], report["rejected"]) == ("done", 7, 3)
    blob = gcs.bucket("uploads").get_blob("cli/quoted.csv")
    assert_exact(blob, 7, 3)
