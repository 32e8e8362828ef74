"""Local stand-in for the HTTPS load balancer: one base URL, routed by path prefix.

What it promises, as the load balancer does:
- Every upstream connection goes back to its pool, whatever the answer: the body is handed
  to the WSGI server as an iterable whose close(), which the server calls even when it
  sends no body (HEAD, 204, 304) or the client hung up, finishes or discards it.
- A request waits at most POOL_WAIT seconds for a connection to its function; then it gets
  a 503 problem with Retry-After, never a hang. Slow or half-sent requests hold a thread of
  the router's own, never a connection to a function: a request is read whole first.
- Upstream answers pass through unchanged: a 429 or 503 with Retry-After stays what it is.
  Only connection failures are retried.
- The router's own answers are problem+json, including the HTTP server's (414, 431, 400).
- Client connections are kept alive (HTTP/1.1), as the load balancer keeps them: a
  connection per request would cost every client a handshake and the router a thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

import urllib3
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from shared.tracing import CLOUD_TRACE, TRACEPARENT

log = logging.getLogger("infra.router")
PROBLEM = "application/problem+json"
# Response headers the WSGI server sets itself (hop-by-hop or recomputed).
_SKIP = {"connection", "keep-alive", "transfer-encoding", "server", "date"}
# A pooled connection can be closed by the function (gunicorn drops idle keep-alive
# connections) just as a request goes out on it. Requests that are safe to send twice are
# then sent again on a fresh connection, as HTTP clients do (RFC 9110 9.2.2): idempotent
# methods, and any request carrying an Idempotency-Key (the function replays it). Others
# are retried only when the connection was never made; otherwise the client gets a 503.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
ATTEMPTS = 3
POOL_SIZE = 32  # connections per function
# How long a request waits for a free connection to its function: a burst queues briefly
# behind the requests being served; a pool held by slow requests answers 503 + Retry-After.
POOL_WAIT = 5.0
# A client connection silent this long (sending its request, or not reading the answer) is
# closed, so a stalled client never holds a router thread, or a function's connection, forever.
CLIENT_TIMEOUT = 60.0
CHUNK = 64 * 1024
# Set in the WSGI environ once the request's body is read whole: only then does the next
# request on the connection start where this one ended, so only then is it kept alive.
BODY_READ = "infra.router.body_read"


class Router:
    """Forwards each request to the function whose prefix matches, streaming the answer.

    `default` (the web console) gets every path no prefix matches, as the load balancer's
    default route does; without it such paths are a 404 problem.
    """

    def __init__(self, routes: dict[str, str], default: str | None = None) -> None:
        # longest prefix first, so /reviews-x never shadows a longer match
        self.routes = sorted(routes.items(), key=lambda item: -len(item[0]))
        self.default = default
        self.pool_wait = POOL_WAIT
        self.pool = urllib3.PoolManager(
            maxsize=POOL_SIZE, block=True, timeout=urllib3.Timeout(connect=5, read=600)
        )

    def target(self, path: str) -> str | None:
        for prefix, base in self.routes:
            if path == prefix or path.startswith((prefix + "/", prefix + ":", prefix + "?")):
                return base
        return self.default

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            request = Request(environ)
            request.get_data()  # whole, before a connection to the function is taken
            environ[BODY_READ] = True
            response = self._respond(request)
        except HTTPException as error:  # the request could not be read whole
            response = _unreadable(error)
        except Exception:  # the router's own bug: still a problem, never werkzeug's HTML page
            log.exception(
                "router error on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
            )
            response = problem(500, "the router failed on this request")
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        if request.path == "/healthz":  # says it is up, and nothing about what is behind it
            return Response(json.dumps({"status": "ok"}), mimetype="application/json")
        base = self.target(request.path)
        if base is None:
            return problem(404, f"no function serves {request.path}")
        return self._forward(request, base)

    def _forward(self, request: Request, base: str) -> Response:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "transfer-encoding")
        }
        headers.update(trace_context(headers))
        try:
            upstream = self.pool.request(
                request.method,
                base + request.full_path.rstrip("?"),
                headers=headers,
                body=request.get_data(),  # read whole by __call__
                preload_content=False,
                redirect=False,
                retries=_retries(request),
                pool_timeout=self.pool_wait,
            )
        except urllib3.exceptions.EmptyPoolError:
            return problem(503, "every connection to the function is busy", {"Retry-After": "1"})
        except urllib3.exceptions.HTTPError:
            return problem(503, "the function is not reachable", {"Retry-After": "2"})
        kept = [(k, v) for k, v in upstream.headers.items() if k.lower() not in _SKIP]
        return Passthrough(
            UpstreamBody(upstream, request.method),
            status=upstream.status,
            headers=kept,
            direct_passthrough=True,
        )


def trace_context(headers: dict[str, str]) -> dict[str, str]:
    """What the load balancer adds to a request that carries no trace context: a new trace
    id in both forms (X-Cloud-Trace-Context and W3C traceparent), with no sampling decision,
    so the functions sample it at their TRACE_SAMPLE_RATIO and their log lines and spans
    share the id. A request that carries either header is left as it is."""
    if {name.lower() for name in headers} & {TRACEPARENT, CLOUD_TRACE.lower()}:
        return {}
    trace_id = secrets.token_hex(16)
    span_id = secrets.randbits(63) + 1  # never 0, which neither format allows
    return {
        CLOUD_TRACE: f"{trace_id}/{span_id};o=0",
        TRACEPARENT: f"00-{trace_id}-{span_id:016x}-00",
    }


def _unreadable(error: HTTPException) -> Response:
    """werkzeug reports a body that stopped arriving as a disconnect (400); a read that
    timed out (CLIENT_TIMEOUT) is the client's too-slow request: 408."""
    if isinstance(error.__context__, TimeoutError):
        return problem(408, "the request stopped arriving before it was complete")
    return problem(error.code or 400, error.description or "the request could not be read")


class Passthrough(Response):
    """An upstream answer as it came: no Content-Type where it had none (a 204 has no body)."""

    default_mimetype = None


class UpstreamBody:
    """An upstream response body, streamed; close() always frees its pooled connection.

    The WSGI server calls close() on every response it sends, also on those it sends no body
    for (HEAD, 1xx, 204, 304) and when the client hangs up mid-body. A response read to its
    end is back in the pool already; a bodiless one is finished (reading its empty body is
    what makes the connection reusable); one cut short is closed, as its unread rest would
    corrupt the next request on that connection.
    """

    def __init__(self, upstream: urllib3.BaseHTTPResponse, method: str) -> None:
        self.upstream = upstream
        status = upstream.status
        self.bodiless = method == "HEAD" or status in (204, 304) or 100 <= status < 200

    def __iter__(self) -> Iterator[bytes]:
        return self.upstream.stream(CHUNK, decode_content=False)

    def close(self) -> None:
        if self.bodiless:
            self.upstream.drain_conn()
        elif not self.upstream.closed:
            self.upstream.close()
        self.upstream.release_conn()


def _retries(request: Request) -> urllib3.Retry:
    replayable = request.method in IDEMPOTENT or "Idempotency-Key" in request.headers
    return urllib3.Retry(
        total=ATTEMPTS,
        connect=ATTEMPTS,
        read=ATTEMPTS if replayable else 0,
        other=0,
        status=0,
        redirect=0,
        allowed_methods=None,  # `read` above already says which requests may be resent
        backoff_factor=0.02,
        raise_on_redirect=False,
        raise_on_status=False,
        # an answer is the function's to give: a 429 or 503 with Retry-After goes to the
        # client as it is, never waited out and retried here
        respect_retry_after_header=False,
    )


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """An RFC 9457 problem answered by the router itself."""
    return Response(problem_body(status, detail), status, headers, mimetype=PROBLEM)


def problem_body(status: int, detail: str) -> bytes:
    title = HTTPStatus(status).phrase
    return json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail}
    ).encode()


class RouterRequestHandler(WSGIRequestHandler):
    """The router's HTTP server: HTTP/1.1 with keep-alive, stalled clients timed out, errors
    as problems."""

    protocol_version = "HTTP/1.1"
    timeout = CLIENT_TIMEOUT

    def setup(self) -> None:
        """No Nagle delay: an answer's head and body are separate writes, and on a kept-alive
        connection the body would wait for the client's delayed ACK of the head (~40 ms)."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        """One request, as werkzeug serves it, but the connection is kept for the next.

        werkzeug's server closes every connection because it cannot tell where an unread body
        ends; the router reads every body whole (BODY_READ) and frames every answer
        (Content-Length, chunked, or no body where HTTP has none), so an HTTP/1.1 client's
        connection stays open unless it asked to close it or its request was not read whole.
        """
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        wire = Wire(self, environ)
        body = self.server.app(environ, wire.start_response)
        try:
            for chunk in body:
                wire.write(chunk)
            wire.end()
        except OSError:  # the client hung up mid-answer
            self.close_connection = True
        except Exception:  # the function's answer broke off: the client must not wait for more
            log.exception("upstream answer to %s %s broke off", self.command, self.path)
            self.close_connection = True
            if not wire.sent:
                wire.problem(502, "the function's answer broke off")
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()  # the upstream connection goes back to its pool, or is discarded

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer what http.server refuses before the router sees a request (a request line
        over 64 KiB: 414; a header line over 64 KiB or over 100 headers: 431; a malformed
        request: 400) as a problem, not http.server's HTML page."""
        self.log_error("code %d, message %s", code, message)
        self.request_version = self.protocol_version  # a status line even when unparsed
        body = problem_body(code, message or HTTPStatus(code).description)
        self.send_response(code, message)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", PROBLEM)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self._discard_unread_input()

    def _discard_unread_input(self) -> None:
        """Read what the client has already sent (briefly, at most 1 MiB): closing a socket
        with unread input resets the connection, and the client would lose the answer."""
        self.connection.settimeout(0.05)
        with contextlib.suppress(OSError):
            for _ in range(16):
                if not self.rfile.read1(CHUNK):
                    return

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet: each function already logs every request it serves."""


class Wire:
    """A WSGI answer written to the handler's connection: the status line and headers at the
    first write, then the body, framed so that the connection can carry the next request."""

    def __init__(self, handler: RouterRequestHandler, environ: dict[str, Any]) -> None:
        self.handler = handler
        self.environ = environ
        self.status = "500 Internal Server Error"
        self.headers: list[tuple[str, str]] = []
        self.sent = False
        self.chunked = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info and self.sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        if not self.sent:
            self._send_head()
        if data and self.chunked:
            self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        elif data:
            self.handler.wfile.write(data)

    def end(self) -> None:
        if not self.sent:
            self._send_head()
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def problem(self, status: int, detail: str) -> None:
        body = problem_body(status, detail)
        headers = [("Content-Type", PROBLEM), ("Content-Length", str(len(body)))]
        self.start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        self.write(body)
        self.end()

    def _send_head(self) -> None:
        handler = self.handler
        code, _, phrase = self.status.partition(" ")
        handler.send_response(int(code), phrase)
        names = set()
        for name, value in self.headers:
            handler.send_header(name, value)
            names.add(name.lower())
        if not self.environ.get(BODY_READ):
            handler.close_connection = True  # where this request's body ends is unknown
        if "content-length" not in names and self._has_body(int(code)):
            if handler.request_version == "HTTP/1.1":
                self.chunked = True
                handler.send_header("Transfer-Encoding", "chunked")
            else:
                handler.close_connection = True  # HTTP/1.0: the body ends where the connection does
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()
        self.sent = True

    def _has_body(self, code: int) -> bool:
        return self.environ["REQUEST_METHOD"] != "HEAD" and code not in (204, 304) and code >= 200


def make_router_server(
    port: int, routes: dict[str, str], default: str | None = None
) -> BaseWSGIServer:
    """The router on 127.0.0.1:`port`, one thread per connection (serve_forever runs it)."""
    return make_server(
        "127.0.0.1",
        port,
        Router(routes, default),
        threaded=True,
        request_handler=RouterRequestHandler,
    )


def serve(port: int, routes: dict[str, str], default: str | None = None) -> None:
    make_router_server(port, routes, default).serve_forever()
