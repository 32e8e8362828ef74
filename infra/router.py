"""Local stand-in for the HTTPS load balancer: one base URL, routed by path prefix.

One asyncio event loop (aiohttp's server and client) serves every client connection: no
thread per connection, and HTTP parsed by aiohttp's C parser. Under the 50-client mixed load a
thread per connection (http.server, werkzeug, urllib3) cost ~0.7 ms of CPU a request, a fifth
of the machine; the loop ~0.45 ms (README, bench/bench_reviews.py).

What it promises, as the load balancer does:
- Every upstream connection goes back to its pool, whatever the answer: one read to its end
  is released, one cut short (the client hung up, a write timed out) is closed, as its unread
  rest would corrupt the next request on it.
- A request waits at most POOL_WAIT seconds for a connection to its function; then it gets
  a 503 problem with Retry-After, never a hang. Slow or half-sent requests hold a socket of
  the router's own, never a connection to a function: a request is read whole first.
- Upstream answers pass through unchanged: a 429 or 503 with Retry-After stays what it is.
  Only connection failures are retried. A small answer is read whole and sent in one write;
  a larger one, or one of unknown length, is streamed.
- The router's own answers are problem+json, including the HTTP parser's (414, 431, 505, 400).
- Client connections are kept alive (HTTP/1.1), as the load balancer keeps them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from yarl import URL

from shared.tracing import CLOUD_TRACE, TRACEPARENT

log = logging.getLogger("infra.router")
PROBLEM = "application/problem+json"
# Hop-by-hop headers, and those the router's server sets itself or recomputes.
_REQUEST_SKIP = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te"}
)
_ANSWER_SKIP = frozenset({"connection", "keep-alive", "transfer-encoding", "server", "date"})
# A pooled connection can be closed by the function (gunicorn drops idle keep-alive
# connections) just as a request goes out on it. Requests that are safe to send twice are
# then sent again on a fresh connection, as HTTP clients do (RFC 9110 9.2.2): idempotent
# methods, and any request carrying an Idempotency-Key (the function replays it). Others
# are retried only when the connection was never made; otherwise the client gets a 503.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
ATTEMPTS = 3
BACKOFF = 0.02  # seconds before the second attempt, doubled for each one after
POOL_SIZE = 32  # connections per function
# How long a request waits for a free connection to its function: a burst queues briefly
# behind the requests being served; a pool held by slow requests answers 503 + Retry-After.
POOL_WAIT = 5.0
CONNECT_TIMEOUT = 5.0
# A pooled connection idle this long is closed by the router, before the function's gunicorn
# closes it (its keep-alive is 2 s): fewer requests meet a connection closing under them.
UPSTREAM_IDLE = 1.0
READ_TIMEOUT = 600.0  # an answer's head, or its next chunk, from the function
# A client connection idle this long between requests is closed; a request body, or a write
# of the answer, stalled this long ends the exchange (408, or the connection closed), so a
# stalled client never holds a connection to a function for longer.
CLIENT_TIMEOUT = 60.0
CHUNK = 64 * 1024
# The HTTP parser's limits. The request target's and a header line's differ by one byte so
# that the limit an oversized line broke says which it was (414 or 431).
MAX_TARGET = 65536
MAX_FIELD = 65535
MAX_HEADERS = 100
# A request body, read whole: Cloud Run's own limit for an HTTP/1 request (the functions
# refuse theirs far below it, as problems of their own).
MAX_BODY = 32 << 20
STOP_WAIT = 2.0  # how long requests under way may finish when the router stops


class Router:
    """Forwards each request to the function whose prefix matches, and its answer back.

    `default` (the web console) gets every path no prefix matches, as the load balancer's
    default route does; without it such paths are a 404 problem.
    """

    def __init__(self, routes: Mapping[str, str], default: str | None = None) -> None:
        # longest prefix first, so /reviews-x never shadows a longer match
        self.routes = sorted(routes.items(), key=lambda item: -len(item[0]))
        self.default = default
        self._session: aiohttp.ClientSession | None = None

    def target(self, path: str) -> str | None:
        for prefix, base in self.routes:
            if path == prefix or path.startswith((prefix + "/", prefix + ":", prefix + "?")):
                return base
        return self.default

    @property
    def session(self) -> aiohttp.ClientSession:
        """The upstream connection pools, opened in the serving loop on first use."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=0, limit_per_host=POOL_SIZE, keepalive_timeout=UPSTREAM_IDLE
                ),
                # `connect` bounds the wait for a pooled connection and the connect itself
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=POOL_WAIT,
                    sock_connect=CONNECT_TIMEOUT,
                    sock_read=READ_TIMEOUT,
                ),
                auto_decompress=False,  # bodies pass through as the function encoded them
                # the client's headers go through as they are: none added that it did not send
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.path == "/healthz":  # says it is up, and nothing about what is behind it
            return web.json_response({"status": "ok"})
        base = self.target(request.path)
        if base is None:
            return problem(404, f"no function serves {request.path}")
        body = await read_whole(request)
        if isinstance(body, web.StreamResponse):
            return body
        try:
            upstream = await self._send(request, base, body)
        except FunctionBusy:
            return problem(503, "every connection to the function is busy", {"Retry-After": "1"})
        except FunctionUnreachable:
            return problem(503, "the function is not reachable", {"Retry-After": "2"})
        return await pass_back(request, upstream)

    async def _send(
        self, request: web.BaseRequest, base: str, body: bytes
    ) -> aiohttp.ClientResponse:
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _REQUEST_SKIP
        ]
        headers += trace_context(request.headers).items()
        replayable = request.method in IDEMPOTENT or "Idempotency-Key" in request.headers
        url = URL(base + request.raw_path, encoded=True)  # the path as the client sent it
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(BACKOFF * 2 ** (attempt - 1))
            try:
                return await self.session.request(
                    request.method,
                    url,
                    headers=headers,
                    data=body or None,
                    allow_redirects=False,
                )
            except aiohttp.ConnectionTimeoutError:
                raise FunctionBusy from None
            except aiohttp.ClientConnectorError:
                continue  # never connected: nothing was sent, safe to send again
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                if not replayable:  # it may have been received: never sent twice
                    raise FunctionUnreachable from None
            except aiohttp.ClientError:  # an answer that is not HTTP, or none in READ_TIMEOUT
                raise FunctionUnreachable from None
        raise FunctionUnreachable


class FunctionBusy(Exception):
    """Every pooled connection to the function stayed busy for POOL_WAIT."""


class FunctionUnreachable(Exception):
    """The function could not be reached, or dropped a request that cannot be resent."""


async def read_whole(request: web.BaseRequest) -> bytes | web.Response:
    """The request's body, whole, before a connection to the function is taken; a problem
    if it stops arriving (408) or cannot be read (400)."""
    if request.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        async with asyncio.timeout(CLIENT_TIMEOUT):
            return await request.read()
    except TimeoutError:
        return closing(problem(408, "the request stopped arriving before it was complete"))
    except web.HTTPRequestEntityTooLarge:
        return closing(problem(413, f"the request body is over {MAX_BODY} bytes"))
    except HttpProcessingError as error:  # a malformed body (chunked coding, length)
        return closing(problem(400, error.message or "the request body could not be read"))


async def pass_back(
    request: web.BaseRequest, upstream: aiohttp.ClientResponse
) -> web.StreamResponse:
    """The function's answer to the client: a small one whole, any other streamed."""
    if is_small(request, upstream):
        return await whole(request, upstream)
    return await relay(request, upstream)


def is_small(request: web.BaseRequest, upstream: aiohttp.ClientResponse) -> bool:
    """An answer with a body of known length up to CHUNK (most API answers)."""
    length = upstream.content_length
    bodiless = request.method == "HEAD" or upstream.status in (204, 304)
    return not bodiless and length is not None and length <= CHUNK


async def whole(request: web.BaseRequest, upstream: aiohttp.ClientResponse) -> web.Response:
    """A small answer read whole, then sent in one write: head and body as one segment
    (streamed, they are two sends, and a send on loopback costs the router most of its CPU)."""
    try:
        body = await upstream.read()  # read to its end, its connection is back in the pool
    except aiohttp.ClientError:  # cut short, or a chunk slower than the session's READ_TIMEOUT
        upstream.close()
        log.warning("the function's answer to %s %s broke off", request.method, request.path)
        return closing(problem(502, "the function's answer broke off"))
    headers = [
        (name, value) for name, value in passed_on(upstream) if name.lower() != "content-length"
    ]
    return web.Response(status=upstream.status, reason=upstream.reason, body=body, headers=headers)


def passed_on(upstream: aiohttp.ClientResponse) -> list[tuple[str, str]]:
    """The answer's headers the client gets (all but hop-by-hop and the server's own)."""
    return [(k, v) for k, v in upstream.headers.items() if k.lower() not in _ANSWER_SKIP]


async def relay(request: web.BaseRequest, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
    """The function's answer, streamed to the client as it came: its status and headers
    (Content-Length included, so the framing is the function's), then its body."""
    answer = web.StreamResponse(status=upstream.status, reason=upstream.reason)
    for name, value in passed_on(upstream):
        answer.headers.add(name, value)
    try:
        async with asyncio.timeout(CLIENT_TIMEOUT):
            await answer.prepare(request)
        async for chunk in upstream.content.iter_chunked(CHUNK):
            async with asyncio.timeout(CLIENT_TIMEOUT):
                await answer.write(chunk)
        await answer.write_eof()
    except BaseException:
        upstream.close()  # cut short: its unread rest must not reach the next request
        if isinstance(upstream.content.exception(), aiohttp.ClientPayloadError):
            log.warning("the function's answer to %s %s broke off", request.method, request.path)
        raise  # the client's connection is closed: it must not wait for more
    upstream.release()
    return answer


def trace_context(headers: Mapping[str, str]) -> dict[str, str]:
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


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    """An RFC 9457 problem answered by the router itself."""
    title = HTTPStatus(status).phrase
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers=headers, content_type=PROBLEM
    )


def closing(response: web.Response) -> web.Response:
    response.force_close()  # where the unread rest of the request ends is unknown
    return response


def refused_status(error: BaseException | None) -> int:
    """The status for a request the HTTP parser refused: which limit a line broke, or what
    was malformed (aiohttp reports them all as 400s)."""
    if isinstance(error, LineTooLong):
        return 414 if error.args[1] == MAX_TARGET else 431
    message = str(error)  # aiohttp's C parser's own words (tests/infra/test_router.py pins them)
    if "Too many headers" in message:
        return 431
    if "Invalid HTTP version" in message:
        return 505
    return 400


class _Connection(web.RequestHandler):
    """aiohttp's protocol, answering what its parser refuses as a problem, not text/plain."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0 or isinstance(exc, ConnectionError):
            # the answer had begun, or the client is gone: the connection just ends
            raise ConnectionError("the client's connection ended mid-exchange")
        if status == 400:
            status = refused_status(exc)
            detail = (message or "").strip() if status == 400 else ""  # else: the status says it
        else:
            log.error("router error on %s %s", request.method, request.path, exc_info=exc)
            detail = "the router failed on this request"
        return closing(problem(status, detail or HTTPStatus(status).description))


class _Server(web.Server):
    def __call__(self) -> web.RequestHandler:
        return _Connection(self, loop=self._loop, **self._kwargs)

    def _make_request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: web.RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        return web.BaseRequest(  # aiohttp's default limit is 1 MiB
            message, payload, protocol, writer, task, self._loop, client_max_size=MAX_BODY
        )


async def start(port: int, routes: Mapping[str, str], default: str | None = None) -> Serving:
    """The router listening on 127.0.0.1:`port` (0: any free port) in the running loop."""
    router = Router(routes, default)
    server = _Server(
        router.handle,
        max_line_size=MAX_TARGET,
        max_field_size=MAX_FIELD,
        max_headers=MAX_HEADERS,
        keepalive_timeout=CLIENT_TIMEOUT,
        access_log=None,  # quiet: each function already logs every request it serves
    )
    runner = web.ServerRunner(server, shutdown_timeout=STOP_WAIT)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return Serving(router, runner, runner.addresses[0][1])


class Serving:
    """A started router: its port, and how to stop it."""

    def __init__(self, router: Router, runner: web.BaseRunner, port: int) -> None:
        self.router, self.runner, self.port = router, runner, port

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.router.close()


def serve(port: int, routes: Mapping[str, str], default: str | None = None) -> None:
    """Serve until interrupted (`make run`)."""

    async def forever() -> None:
        serving = await start(port, routes, default)
        try:
            await asyncio.Event().wait()
        finally:
            await serving.stop()

    asyncio.run(forever())


async def _cancel_the_rest() -> None:
    """End what the stop left: connections that never sent a whole request."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@contextmanager
def running(routes: Mapping[str, str], default: str | None = None) -> Iterator[str]:
    """The router on a free port, served by a loop on a thread of its own; yields its base
    URL (tests)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(30)

    serving: Serving = call(start(0, routes, default))
    try:
        yield f"http://127.0.0.1:{serving.port}"
    finally:
        call(serving.stop())
        call(_cancel_the_rest())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
