"""Traces: OpenTelemetry spans around requests, upload batches, job tasks and SQL statements.

Off by default (TRACE_EXPORTER=none): nothing of OpenTelemetry is imported and span() hands
back one shared no-op, so tracing off costs a settings lookup per span (bench_upload.py
--trace compares). On, the SDK's tracer provider is built once per process
(shared/trace_export.py):

- sampling: parent-based; a caller's "sampled" decision is kept, anything else (a new
  trace, or a parent that made no decision: the local router's and the load balancer's
  headers) is sampled at TRACE_SAMPLE_RATIO by trace id, so every process of a trace
  decides alike;
- propagation, in and out: W3C `traceparent` and Google's `X-Cloud-Trace-Context` (the
  load balancer sends both; Cloud Run jobs get `TRACEPARENT` in their execution's env,
  CloudEvents a `traceparent` extension attribute);
- export, in batches on a thread of the SDK's: `cloud` to Cloud Trace (the runtime service
  account needs roles/cloudtrace.agent), `console` to stdout, `file` as JSON lines
  appended to TRACE_FILE (`make run`).

`server_span` binds its trace id to the thread's log lines (shared/logs.py), and `carrier`
passes the trace on to the next hop: the current span's context, or with tracing off the
request's own trace headers as they came, so every hop's log lines share the trace id.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from shared import logs
from shared.lazy import Lazy
from shared.settings import get_settings
from shared.trace_export import Tracing, build_provider

TRACEPARENT = "traceparent"
CLOUD_TRACE = "X-Cloud-Trace-Context"
TRACEPARENT_ENV = "TRACEPARENT"  # how a job execution's tasks get their parent
STATEMENT_CHARS = 200
_TRACEPARENT_RE = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_CLOUD_TRACE_RE = re.compile(r"^([0-9a-fA-F]{32})(?:/|$)")
_NOOP = contextlib.nullcontext()
F = TypeVar("F", bound=Callable[..., Any])
# the trace headers of the request being served, for carrier() while tracing is off
_incoming: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "incoming_trace_headers", default=()
)


class Headers(Protocol):
    """Request headers, a CloudEvent's attributes, an environment: what trace context rides in."""

    def get(self, key: str, /) -> str | None: ...
    def items(self) -> Iterable[tuple[str, str]]: ...


def enabled() -> bool:
    return get_settings().trace_exporter != "none"


def header_trace_id(headers: Headers) -> str | None:
    """The trace id a request arrived with (X-Cloud-Trace-Context, else traceparent)."""
    cloud = _CLOUD_TRACE_RE.match((headers.get(CLOUD_TRACE) or "").strip())
    if cloud:
        return cloud.group(1).lower()
    w3c = _TRACEPARENT_RE.match((headers.get(TRACEPARENT) or "").strip().lower())
    return w3c.group(1) if w3c else None


def span(name: str, **attributes: Any) -> contextlib.AbstractContextManager[Any]:
    """A child span of the current one, around a with-block (a no-op when tracing is off)."""
    if not _recording():
        return _NOOP
    started: contextlib.AbstractContextManager[Any] = _tracer().start_as_current_span(
        name, attributes=_clean(attributes)
    )
    return started


def traced(name: str) -> Callable[[F], F]:
    """Decorate a function to run in a span of its own (a no-op call-through when off)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not _recording():
                return function(*args, **kwargs)
            with _tracer().start_as_current_span(name):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@contextlib.contextmanager
def server_span(
    headers: Headers, name: str, kind: str = "SERVER", **attributes: Any
) -> Iterator[str | None]:
    """A span continuing the trace `headers` carry (a request's, an event's, a task's env),
    whose id this thread's log lines carry (the headers' own when tracing is off)."""
    if not enabled():
        token = _incoming.set(_trace_headers(headers))
        try:
            yield _logged(header_trace_id(headers))
        finally:
            _incoming.reset(token)
        return
    from opentelemetry import propagate, trace

    tracer = _tracer()  # first: building the provider sets the propagators extract uses
    parent = propagate.extract(_lowercase(headers))
    span_kind = getattr(trace.SpanKind, kind)
    with tracer.start_as_current_span(
        name, context=parent, kind=span_kind, attributes=_clean(attributes)
    ) as current:
        context = current.get_span_context()
        valid = context.is_valid
        yield _logged(format(context.trace_id, "032x") if valid else header_trace_id(headers))


def _logged(trace_id: str | None) -> str | None:
    logs.set_trace(trace_id, get_settings().google_cloud_project)
    return trace_id


def rename(name: str) -> None:
    """Name the current span (a request's, once its route is known)."""
    if enabled():
        from opentelemetry import trace

        trace.get_current_span().update_name(name)


def carrier() -> dict[str, str]:
    """The current trace as outgoing headers (traceparent, X-Cloud-Trace-Context): the
    current span's; with tracing off, those the request being served came with (or {})."""
    if not enabled():
        return dict(_incoming.get())
    from opentelemetry import propagate

    _provider.get()  # its propagators
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


def env_carrier() -> dict[str, str]:
    """The current span for a job execution's env overrides (TRACEPARENT)."""
    parent = carrier().get(TRACEPARENT)
    return {TRACEPARENT_ENV: parent} if parent else {}


def flush() -> None:
    """Export what is buffered now (after an event or a task the instance may be frozen)."""
    if enabled():
        _provider.get().provider.force_flush()


def instrument(engine: Any) -> None:
    """A span per SQL statement on `engine` (its round trips show in every trace)."""
    if not enabled():
        return
    from sqlalchemy import event

    def start(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not _recording():
            _statements.append(None)
            return
        words = statement.split(None, 1)
        name = f"sql {words[0].upper()}" if words else "sql"
        text = statement[:STATEMENT_CHARS]  # enough to tell which; the rest costs export
        _statements.append(_tracer().start_span(name, attributes={"db.statement": text}))

    def end(*_: Any) -> None:
        if _statements.spans and (span := _statements.spans.pop()) is not None:
            span.end()

    event.listen(engine, "before_cursor_execute", start)
    event.listen(engine, "after_cursor_execute", end)
    event.listen(engine, "handle_error", end)


class _Open(threading.local):
    """The statement spans open on this thread (one at a time, per connection in use)."""

    def __init__(self) -> None:
        self.spans: list[Any] = []  # None: a statement of a trace not sampled

    def append(self, span: Any) -> None:
        self.spans.append(span)


_statements = _Open()


def _trace_headers(headers: Headers) -> tuple[tuple[str, str], ...]:
    """The trace headers among `headers` (any case), under their canonical names."""
    lower = _lowercase(headers)
    names = (TRACEPARENT, CLOUD_TRACE)
    return tuple((name, lower[name.lower()]) for name in names if name.lower() in lower)


def _lowercase(headers: Headers) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items() if value}


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes OpenTelemetry accepts: None dropped, anything else not primitive as text."""
    return {
        key: value if isinstance(value, str | bool | int | float) else str(value)
        for key, value in attributes.items()
        if value is not None
    }


def _recording() -> bool:
    """Whether a child span would be kept: tracing on, and a sampled span current (or none:
    a root span). An unsampled trace's children never are (parent-based): not made, ~18 us."""
    if not enabled():
        return False
    from opentelemetry import trace

    current = trace.get_current_span()
    return current.is_recording() or not current.get_span_context().is_valid


def _tracer() -> Any:
    return _provider.get().tracer


_provider: Lazy[Tracing] = Lazy(build_provider, close=lambda held: held.provider.shutdown())
