"""The console passes its request's trace on to the APIs a page calls, so the console and
the functions behind it share one trace (tracing on) and one trace id in their log lines
(tracing off)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from shared.logs import REQUEST_LOGGER, CloudLoggingFormatter
from tests.support.traces import TRACE, spans, trace_of

HEADERS = {
    "X-Cloud-Trace-Context": f"{TRACE}/1;o=1",
    "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
}


@pytest.fixture
def request_lines() -> Iterator[io.StringIO]:
    """Every function's request log lines, as Cloud Logging would read them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(CloudLoggingFormatter())
    logger = logging.getLogger(REQUEST_LOGGER)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_tracing_off_the_apis_log_the_consoles_trace_id(
    web: FlaskClient, live_apis: dict[str, str], request_lines: io.StringIO
) -> None:
    assert web.get("/", headers=HEADERS).status_code == 200
    lines = [json.loads(line) for line in request_lines.getvalue().splitlines()]
    ratings = live_apis["ratings"]
    api_lines = [line for line in lines if line["httpRequest"]["requestUrl"].startswith(ratings)]
    assert len(api_lines) == 2  # the home page's two leaderboards, called in parallel
    for line in [*api_lines, lines[-1]]:  # and the console's own line
        assert line["logging.googleapis.com/trace"].endswith(TRACE), line


def test_tracing_on_a_page_and_its_api_calls_are_one_trace(traced: Path, web: FlaskClient) -> None:
    assert web.get("/", headers=HEADERS).status_code == 200
    found = [span for span in spans(traced) if trace_of(span) == TRACE]
    console = next(span for span in found if span["name"] == "GET /")
    calls = [span for span in found if span["name"].startswith("GET /ratings")]
    assert len(calls) == 2
    for call in calls:
        assert call["kind"] == "SpanKind.SERVER"
        assert call["parent_id"] == console["context"]["span_id"]
