"""The local load-balancer stand-in routes by prefix and passes requests through unchanged."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterable, Iterator
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from infra.localpg import free_port
from infra.router import Router


def echo(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    request = Request(environ)
    body = {
        "path": request.full_path,
        "method": request.method,
        "body": request.get_data(as_text=True),
        "key": request.headers.get("X-API-Key"),
    }
    response = Response(
        json.dumps(body), status=201, mimetype="application/json", headers={"Location": "/x/1"}
    )
    return response(environ, start_response)


@pytest.fixture
def upstream() -> Iterator[str]:
    server = make_server("127.0.0.1", free_port(), echo, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_forwards_by_prefix_with_body_headers_and_status(upstream: str) -> None:
    client = Client(Router({"/reviews": upstream, "/sentiment": upstream}))
    response = client.post(
        "/reviews:batch?x=1",
        data=b'{"a": 1}',
        headers={"X-API-Key": "k"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.headers["Location"] == "/x/1"
    assert response.get_json() == {
        "path": "/reviews:batch?x=1",
        "method": "POST",
        "body": '{"a": 1}',
        "key": "k",
    }
    assert client.get("/sentiment").status_code == 201


def test_unknown_prefix_is_a_404_problem(upstream: str) -> None:
    response = Client(Router({"/movies": upstream})).get("/moviesx")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_unreachable_function_is_a_503_problem() -> None:
    response = Client(Router({"/movies": f"http://127.0.0.1:{free_port()}"})).get("/movies")
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_default_route_takes_every_unmatched_path(upstream: str) -> None:
    client = Client(Router({"/movies": "http://127.0.0.1:9"}, default=upstream))
    for path in ("/", "/films/1", "/docs", "/openapi.json", "/moviesx"):
        assert client.get(path).get_json()["path"].rstrip("?") == path


def test_healthz_says_it_is_up_and_nothing_more(upstream: str) -> None:
    response = Client(Router({"/movies": upstream})).get("/healthz")
    assert response.get_json() == {"status": "ok"}
    assert "127.0.0.1" not in response.get_data(as_text=True)


class OneRequestPerConnection:
    """An upstream that answers the first request on each connection, keeps it open as
    keep-alive says, then drops it when the next request arrives on it: the race between a
    pooled connection and a server's keep-alive timeout, every time."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.answered = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            for index in range(2):
                if not _read_request(conn):
                    return
                if index == 1:
                    return  # a second request on this connection: close without an answer
                self.answered += 1
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}"
                )

    def close(self) -> None:
        self.sock.close()


def _read_request(conn: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    return True


@pytest.fixture
def dropping() -> Iterator[OneRequestPerConnection]:
    server = OneRequestPerConnection()
    yield server
    server.close()


def test_requests_safe_to_resend_survive_a_dropped_keep_alive_connection(
    dropping: OneRequestPerConnection,
) -> None:
    client = Client(Router({"/movies": dropping.url}))
    for _ in range(5):
        assert client.get("/movies").status_code == 200
        assert client.delete("/movies/1").status_code == 200
        response = client.post("/movies", json={}, headers={"Idempotency-Key": "k"})
        assert response.status_code == 200


def test_other_writes_are_not_sent_twice(dropping: OneRequestPerConnection) -> None:
    client = Client(Router({"/movies": dropping.url}))
    assert client.post("/movies", json={}).status_code == 200  # a fresh connection
    answered = dropping.answered
    response = client.post("/movies", json={})  # the reused connection is dropped
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert dropping.answered == answered
