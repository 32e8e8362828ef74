"""Structured JSON logs in the shape Cloud Logging parses (severity, message, trace)."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace", default=None)
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per line; extra= fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        trace = _trace.get()
        if trace:
            entry["logging.googleapis.com/trace"] = trace
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO") -> None:
    """Route the root logger to stdout as JSON; idempotent."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, CloudLoggingFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter())
    root.addHandler(handler)
    root.setLevel(level)


def set_trace(header: str | None, project: str | None) -> None:
    """Bind the request's trace (from X-Cloud-Trace-Context) to this thread's log lines."""
    trace_id = (header or "").split("/", 1)[0].strip()
    if not trace_id:
        _trace.set(None)
        return
    _trace.set(f"projects/{project}/traces/{trace_id}" if project else trace_id)


# Every function's request lines, the console's included, come from this logger: the
# log-based metrics (terraform/modules/system/monitoring.tf) select it by name.
REQUEST_LOGGER = "shared.http"
_requests = logging.getLogger(REQUEST_LOGGER)


def log_request(request: Any, response: Any, seconds: float, problem: str | None = None) -> None:
    """One line per request (a flask Request and Response); `problem` (the problem title,
    e.g. "Model Unavailable") lets log-based metrics tell 503s apart."""
    status = response.status_code
    level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
    _requests.log(
        level,
        "%s %s %s",
        request.method,
        request.path,
        status,
        extra={
            "problem": problem,
            "httpRequest": {
                "requestMethod": request.method,
                "requestUrl": request.url,
                "status": status,
                "latency": f"{seconds:.6f}s",
                "userAgent": request.user_agent.string,
                "remoteIp": request.remote_addr,
                "responseSize": str(response.content_length or 0),
            },
        },
    )
