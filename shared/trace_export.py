"""Where spans go (shared/tracing.py makes them): the SDK's tracer provider, its sampler
and propagators, and the exporter TRACE_EXPORTER names. OpenTelemetry is imported only
when a provider is built, that is only with tracing on."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from shared.settings import Settings, get_settings

log = logging.getLogger("shared.tracing")


def build_provider() -> Tracing:
    """The SDK's tracer provider for these settings, set as the process's global one."""
    settings = get_settings()
    from opentelemetry import propagate
    from opentelemetry.propagators.cloud_trace_propagator import CloudTraceFormatPropagator
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    ratio = TraceIdRatioBased(settings.trace_sample_ratio)
    sampler = ParentBased(root=ratio, remote_parent_not_sampled=ratio)
    resource = Resource.create({"service.name": _service_name(settings)})
    provider = TracerProvider(sampler=sampler, resource=resource)
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
    # W3C last: where both headers came, its trace id wins (they agree behind Google's LB).
    # The provider stays ours, not the global one: a reset (tests) builds a fresh one.
    propagate.set_global_textmap(
        CompositePropagator([CloudTraceFormatPropagator(), TraceContextTextMapPropagator()])
    )
    return Tracing(provider, provider.get_tracer("shared"))


class Tracing:
    """The process's provider and its one tracer (get_tracer makes a new one each call)."""

    def __init__(self, provider: Any, tracer: Any) -> None:
        self.provider, self.tracer = provider, tracer


def _service_name(settings: Settings) -> str:
    return settings.k_service or settings.cloud_run_job or settings.function_target or "local"


def _exporter(settings: Settings) -> Any:
    if settings.trace_exporter == "cloud":
        return _cloud_exporter(settings.google_cloud_project)
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    if settings.trace_exporter == "console":
        return ConsoleSpanExporter()
    # one JSON object per line, appended by every process of `make run` (O_APPEND, line
    # buffered: each span is one write)
    path = Path(settings.trace_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = path.open("a", buffering=1, encoding="utf-8")
    return ConsoleSpanExporter(out=out, formatter=lambda s: s.to_json(indent=None) + "\n")


def _cloud_exporter(project: str | None) -> Any:
    """Cloud Trace's exporter, made on the exporting thread at its first batch: finding the
    credentials (the metadata server) never delays a request, and without any (a laptop,
    the rehearsal) spans are dropped with one warning instead of failing anything."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class CloudTrace(SpanExporter):
        def __init__(self) -> None:
            self._inner: Any = None
            self._failed = False

        def export(self, spans: Any) -> SpanExportResult:
            if self._inner is None and not self._failed:
                try:
                    from opentelemetry.exporter.cloud_trace import CloudTraceSpanExporter

                    self._inner = CloudTraceSpanExporter(project_id=project)  # type: ignore[no-untyped-call]
                except Exception:
                    self._failed = True
                    log.warning("traces dropped: no Cloud Trace client", exc_info=True)
            if self._inner is None:
                return SpanExportResult.FAILURE
            result: SpanExportResult = self._inner.export(spans)
            return result

        def shutdown(self) -> None:
            if self._inner is not None:
                self._inner.shutdown()

    return CloudTrace()
