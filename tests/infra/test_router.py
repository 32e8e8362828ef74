"""The local load-balancer stand-in routes by prefix and passes requests through unchanged."""

from __future__ import annotations

import http.client
import json
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from infra import router
from infra.localpg import free_port
from infra.router import running
from tests.support.raw_http import answer, headers, send


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
    serve_in_background(server)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_forwards_by_prefix_with_body_headers_and_status(upstream: str) -> None:
    with running({"/reviews": upstream, "/sentiment": upstream}) as base:
        response = requests.post(
            f"{base}/reviews:batch?x=1",
            data=b'{"a": 1}',
            headers={"X-API-Key": "k", "Content-Type": "application/json"},
            timeout=5,
        )
        assert response.status_code == 201
        assert response.headers["Location"] == "/x/1"
        assert response.json() == {
            "path": "/reviews:batch?x=1",
            "method": "POST",
            "body": '{"a": 1}',
            "key": "k",
        }
        assert requests.get(f"{base}/sentiment", timeout=5).status_code == 201


def test_unknown_prefix_is_a_404_problem(upstream: str) -> None:
    with running({"/movies": upstream}) as base:
        response = requests.get(f"{base}/moviesx", timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_unreachable_function_is_a_503_problem() -> None:
    with running({"/movies": f"http://127.0.0.1:{free_port()}"}) as base:
        response = requests.get(f"{base}/movies", timeout=5)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 503


def test_default_route_takes_every_unmatched_path(upstream: str) -> None:
    with running({"/movies": "http://127.0.0.1:9"}, default=upstream) as base:
        for path in ("/", "/films/1", "/docs", "/openapi.json", "/moviesx"):
            answer = requests.get(f"{base}{path}", timeout=5).json()
            assert answer["path"].rstrip("?") == path


def test_healthz_says_it_is_up_and_nothing_more(upstream: str) -> None:
    with running({"/movies": upstream}) as base:
        response = requests.get(f"{base}/healthz", timeout=5)
    assert response.json() == {"status": "ok"}
    assert "127.0.0.1" not in response.text


class RawUpstream:
    """An upstream on a bare socket, each connection served by `_connection` on a thread."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.sock.close()


class OneRequestPerConnection(RawUpstream):
    """An upstream that answers the first request on each connection, keeps it open as
    keep-alive says, then drops it when the next request arrives on it: the race between a
    pooled connection and a server's keep-alive timeout, every time."""

    def __init__(self) -> None:
        self.answered = 0
        super().__init__()

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
    with running({"/movies": dropping.url}) as base, requests.Session() as client:
        for _ in range(5):
            assert client.get(f"{base}/movies", timeout=5).status_code == 200
            assert client.delete(f"{base}/movies/1", timeout=5).status_code == 200
            key = {"Idempotency-Key": "k"}
            response = client.post(f"{base}/movies", json={}, headers=key, timeout=5)
            assert response.status_code == 200


def test_other_writes_are_not_sent_twice(dropping: OneRequestPerConnection) -> None:
    with running({"/movies": dropping.url}) as base, requests.Session() as client:
        assert client.post(f"{base}/movies", json={}, timeout=5).status_code == 200  # a fresh one
        answered = dropping.answered
        response = client.post(f"{base}/movies", json={}, timeout=5)  # the reused one drops
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert dropping.answered == answered


class Upstream(BaseHTTPRequestHandler):
    """A function as the router meets it: HTTP/1.1 keep-alive (as gunicorn), one answer per
    path, counting requests per path and the connections they came on."""

    protocol_version = "HTTP/1.1"
    hits: ClassVar[Counter[str]] = Counter()
    connections: ClassVar[set[int]] = set()
    release: ClassVar[threading.Event] = threading.Event()

    def do_GET(self) -> None:
        type(self).hits[self.path] += 1
        type(self).connections.add(self.client_address[1])
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, body = self.answer()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    do_HEAD = do_POST = do_DELETE = do_OPTIONS = do_GET

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        json_type = {"Content-Type": "application/json"}
        if self.command == "DELETE":
            return 204, {}, b""
        if self.command == "OPTIONS":  # a CORS preflight's answer
            return 204, {"Access-Control-Allow-Origin": "https://app.example"}, b""
        if self.path == "/x/etag":
            return 304, {"ETag": '"v1"'}, b""
        if self.path == "/x/busy":
            problem = {"type": "about:blank", "status": 429, "title": "Too Many Requests"}
            return 429, {"Retry-After": "7", **PROBLEM}, json.dumps(problem).encode()
        if self.path == "/x/down":
            return 503, {"Retry-After": "3", **PROBLEM}, b'{"detail": "database down"}'
        if self.path == "/x/big":
            return 200, {"Content-Type": "application/octet-stream"}, bytes(8 << 20)
        if self.path == "/x/slow":
            type(self).release.wait(10)
        return 200, json_type, b'{"ok": true}'

    def log_message(self, *args: object) -> None:
        pass


PROBLEM = {"Content-Type": "application/problem+json"}


@pytest.fixture
def function() -> Iterator[str]:
    Upstream.hits, Upstream.connections = Counter(), set()
    Upstream.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    serve_in_background(server)
    yield f"http://127.0.0.1:{server.server_port}"
    Upstream.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def small_pool(monkeypatch: pytest.MonkeyPatch) -> int:
    """A pool of 4 connections per function: the router under test runs out of them fast."""
    monkeypatch.setattr(router, "POOL_SIZE", 4)
    monkeypatch.setattr(router, "POOL_WAIT", 2.0)
    return 4


@pytest.fixture
def base(function: str, small_pool: int) -> Iterator[str]:
    """The router, as `make run` serves it, in front of `function`."""
    with running({"/x": function}) as url:
        yield url


def test_no_method_status_or_client_keeps_a_connection_to_the_function(
    base: str, small_pool: int
) -> None:
    """HEADs, 204s (DELETE, CORS preflight), 304s, upstream errors, clients that stall
    before their headers end or mid-body, and clients that hang up mid-answer, each more
    times than the pool has connections: a plain request still answers at once."""
    rounds = small_pool + 2
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"}
    for _ in range(rounds):
        assert requests.head(f"{base}/x", timeout=5).status_code == 200
        assert requests.delete(f"{base}/x/1", timeout=5).status_code == 204
        assert requests.options(f"{base}/x/1", headers=preflight, timeout=5).status_code == 204
        assert requests.get(f"{base}/x/etag", timeout=5).status_code == 304
        assert requests.get(f"{base}/x/busy", timeout=5).status_code == 429
        assert requests.get(f"{base}/x/down", timeout=5).status_code == 503
    stalled = [send(base, b"GET /x HTTP/1.1\r\nHost: r\r\nX-Slow: ") for _ in range(rounds)]
    stalled += [
        send(base, b"POST /x HTTP/1.1\r\nHost: r\r\nContent-Length: 100\r\n\r\n{}")
        for _ in range(rounds)
    ]
    for _ in range(rounds):
        with send(base, b"GET /x/big HTTP/1.1\r\nHost: r\r\n\r\n") as hung_up:
            assert hung_up.recv(16).startswith(b"HTTP/1.1 200")
    try:
        started = time.monotonic()
        response = requests.get(f"{base}/x", timeout=5)
        assert response.status_code == 200
        assert time.monotonic() - started < 1.0  # a functional bound, not a benchmark
    finally:
        for conn in stalled:
            conn.close()


def test_connections_are_reused_after_answers_without_a_body(base: str, small_pool: int) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"}
    for _ in range(3 * small_pool):
        head = requests.head(f"{base}/x", timeout=5)
        assert (head.status_code, head.headers["Content-Length"], head.content) == (200, "12", b"")
        assert requests.delete(f"{base}/x/1", timeout=5).status_code == 204
        assert requests.options(f"{base}/x/1", headers=preflight, timeout=5).status_code == 204
        assert requests.get(f"{base}/x/etag", timeout=5).status_code == 304
    assert len(Upstream.connections) <= small_pool


def test_an_exhausted_pool_answers_503_with_retry_after_not_a_hang(
    base: str, small_pool: int
) -> None:
    with ThreadPoolExecutor(small_pool) as clients:
        slow = [
            clients.submit(requests.get, f"{base}/x/slow", timeout=10) for _ in range(small_pool)
        ]
        wait_until(lambda: Upstream.hits["/x/slow"] == small_pool)
        try:
            started = time.monotonic()
            response = requests.get(f"{base}/x", timeout=5)
            assert time.monotonic() - started < 5  # POOL_WAIT, then the answer
            assert response.status_code == 503 and response.headers["Retry-After"]
            assert response.headers["Content-Type"] == "application/problem+json"
            assert "busy" in response.json()["detail"]
        finally:
            Upstream.release.set()
        assert all(future.result().status_code == 200 for future in slow)
    assert requests.get(f"{base}/x", timeout=5).status_code == 200


def test_upstream_statuses_pass_through_unchanged_and_are_not_retried(base: str) -> None:
    busy = requests.get(f"{base}/x/busy", timeout=5)
    assert (busy.status_code, busy.headers["Retry-After"]) == (429, "7")
    assert busy.headers["Content-Type"] == "application/problem+json"
    assert busy.json()["title"] == "Too Many Requests"
    down = requests.post(f"{base}/x/down", json={}, timeout=5)
    assert (down.status_code, down.headers["Retry-After"]) == (503, "3")
    assert down.json() == {"detail": "database down"}
    assert Upstream.hits["/x/busy"] == 1 and Upstream.hits["/x/down"] == 1


def test_a_204_through_the_router_has_no_content_type(base: str) -> None:
    for response in (
        requests.delete(f"{base}/x/1", timeout=5),
        requests.options(f"{base}/x/1", timeout=5),
    ):
        assert response.status_code == 204
        assert "Content-Type" not in response.headers
        assert response.content == b""


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET /x?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: r\r\n\r\n", 414),
        (b"GET /x HTTP/1.1\r\nHost: r\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET /x HTTP/1.1\r\n" + headers(101) + b"\r\n", 431),
        (b"GET /x HTTP/9.9\r\nHost: r\r\n\r\n", 505),
        (b"NONSENSE\r\n\r\n", 400),
    ],
)
def test_the_routers_own_http_errors_are_problems(
    base: str, request_head: bytes, status: int
) -> None:
    code, content_type, body = answer(send(base, request_head))
    assert (code, content_type) == (status, "application/problem+json")
    assert json.loads(body)["status"] == status


def test_a_client_that_stops_mid_request_gets_a_408_problem(
    base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(router, "CLIENT_TIMEOUT", 0.3)
    conn = send(base, b"POST /x HTTP/1.1\r\nHost: r\r\nContent-Length: 100\r\n\r\n{}")
    code, content_type, body = answer(conn)
    assert (code, content_type) == (408, "application/problem+json")
    assert json.loads(body)["status"] == 408
    assert Upstream.hits["/x"] == 0


def wait_until(condition: Callable[[], object], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def serve_in_background(server: socketserver.BaseServer) -> None:
    """serve_forever on a thread, polling often so that shutdown() returns at once."""
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /x HTTP/1.1\r\nHost: r\r\nX-Slow: ", b"GET /healthz HTTP/1.1\r\nHost: r\r\n\r\n"],
    ids=["idle", "mid-head", "after an answer"],
)
def test_a_silent_client_connection_is_closed(
    function: str, monkeypatch: pytest.MonkeyPatch, sent: bytes
) -> None:
    monkeypatch.setattr(router, "CLIENT_TIMEOUT", 0.3)
    with running({"/x": function}) as base, send(base, sent) as conn:
        received = b""
        while chunk := conn.recv(65536):  # the socket's own timeout (10 s) fails the test
            received += chunk
    assert received == b"" or received.startswith(b"HTTP/1.1 200")
    assert Upstream.hits["/x"] == 0


def test_bodies_pass_whole_up_to_the_routers_limit(
    base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over 1 MiB (aiohttp's default) and up to MAX_BODY a body reaches the function, which
    applies its own limit; over MAX_BODY the router answers a 413 problem itself."""
    assert requests.post(f"{base}/x", data=bytes(5 << 20), timeout=10).status_code == 200
    assert Upstream.hits["/x"] == 1
    monkeypatch.setattr(router, "MAX_BODY", 1 << 20)
    response = requests.post(f"{base}/x", data=bytes(2 << 20), timeout=10)
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert Upstream.hits["/x"] == 1


class CutShort(RawUpstream):
    """An upstream whose answers stop before the end their Content-Length announced."""

    def __init__(self, length: int) -> None:
        self.length = length
        super().__init__()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            if _read_request(conn):
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.length}\r\n\r\n"
                conn.sendall(head.encode() + b"x" * 10)


@pytest.mark.parametrize("length", [100, 1 << 20], ids=["small", "streamed"])
def test_an_answer_that_breaks_off_never_passes_for_whole(length: int) -> None:
    upstream = CutShort(length)
    try:
        with running({"/x": upstream.url}) as base:
            conn = send(base, b"GET /x HTTP/1.1\r\nHost: r\r\n\r\n")
            if length <= router.CHUNK:  # read whole first: the router can still say so
                code, content_type, _ = answer(conn)
                assert (code, content_type) == (502, "application/problem+json")
            else:  # streamed: the head went out, so the connection ends short of the length
                with conn, pytest.raises(http.client.IncompleteRead):
                    response = http.client.HTTPResponse(conn)
                    response.begin()
                    response.read()
    finally:
        upstream.close()
