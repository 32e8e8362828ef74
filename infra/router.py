"""Local stand-in for the HTTPS load balancer: one base URL, routed by path prefix."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import urllib3
from werkzeug.serving import WSGIRequestHandler, run_simple
from werkzeug.wrappers import Request, Response

# Response headers the WSGI server sets itself (hop-by-hop or recomputed).
_SKIP = {"connection", "keep-alive", "transfer-encoding", "server", "date"}
# A pooled connection can be closed by the function (gunicorn drops idle keep-alive
# connections) just as a request goes out on it. Requests that are safe to send twice are
# then sent again on a fresh connection, as HTTP clients do (RFC 9110 9.2.2): idempotent
# methods, and any request carrying an Idempotency-Key (the function replays it). Others
# are retried only when the connection was never made; otherwise the client gets a 503.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
ATTEMPTS = 3
POOL_SIZE = 32  # connections per function; further requests wait for one (block=True)


class Router:
    """Forwards each request to the function whose prefix matches, streaming both ways.

    `default` (the web console) gets every path no prefix matches, as the load balancer's
    default route does; without it such paths are a 404 problem.
    """

    def __init__(self, routes: dict[str, str], default: str | None = None) -> None:
        # longest prefix first, so /reviews-x never shadows a longer match
        self.routes = sorted(routes.items(), key=lambda item: -len(item[0]))
        self.default = default
        self.pool = urllib3.PoolManager(
            maxsize=POOL_SIZE, block=True, timeout=urllib3.Timeout(connect=5, read=600)
        )

    def target(self, path: str) -> str | None:
        for prefix, base in self.routes:
            if path == prefix or path.startswith((prefix + "/", prefix + ":", prefix + "?")):
                return base
        return self.default

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/healthz":  # says it is up, and nothing about what is behind it
            return _json(200, {"status": "ok"})(environ, start_response)
        base = self.target(request.path)
        if base is None:
            return _json(
                404,
                {
                    "type": "about:blank",
                    "title": "Not Found",
                    "status": 404,
                    "detail": f"no function serves {request.path}",
                },
                "application/problem+json",
            )(environ, start_response)
        return self._forward(request, base)(environ, start_response)

    def _forward(self, request: Request, base: str) -> Response:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "transfer-encoding")
        }
        try:
            upstream = self.pool.request(
                request.method,
                base + request.full_path.rstrip("?"),
                headers=headers,
                body=request.get_data(),
                preload_content=False,
                redirect=False,
                retries=_retries(request),
            )
        except urllib3.exceptions.HTTPError:
            return _json(
                503,
                {
                    "type": "about:blank",
                    "title": "Service Unavailable",
                    "status": 503,
                    "detail": "the function is not reachable",
                },
                "application/problem+json",
                {"Retry-After": "2"},
            )
        kept = [(k, v) for k, v in upstream.headers.items() if k.lower() not in _SKIP]
        return Response(
            upstream.stream(64 * 1024, decode_content=False), status=upstream.status, headers=kept
        )


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
    )


def _json(
    status: int,
    body: dict[str, Any],
    mimetype: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(json.dumps(body), status=status, mimetype=mimetype, headers=headers)


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1, so clients reuse their connection as they would with the real balancer."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet: each function already logs every request it serves."""


def serve(port: int, routes: dict[str, str], default: str | None = None) -> None:
    run_simple(
        "127.0.0.1",
        port,
        Router(routes, default),
        threaded=True,
        request_handler=KeepAliveHandler,
    )
