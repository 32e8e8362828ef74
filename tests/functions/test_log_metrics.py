"""The structured log lines carry every field the log-based metrics read.

terraform/modules/system/monitoring.tf counts and measures our own log lines (jsonPayload.*,
httpRequest.status). This drives real requests and a real upload and checks that each field
those filters and extractors name is in the lines the functions actually write.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.logs import CloudLoggingFormatter
from tests.support import REPO
from tests.support.uploads import deliver, event_for, fixture, put

MONITORING = (REPO / "terraform" / "modules" / "system" / "monitoring.tf").read_text()


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    formatter = CloudLoggingFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


def payload_fields(filter_name: str) -> set[str]:
    """jsonPayload fields used by one of the monitoring.tf locals (request/upload lines)."""
    return (
        set(re.findall(r"jsonPayload\.(\w+)", MONITORING))
        & {
            "request_lines": {"logger", "problem"},
            "upload_lines": {"logger", "status", "rejected_ratio", "lines_per_second"},
        }[filter_name]
    )


def test_every_payload_field_is_accounted_for() -> None:
    used = set(re.findall(r"jsonPayload\.(\w+)", MONITORING))
    assert used == payload_fields("request_lines") | payload_fields("upload_lines")


def test_model_unavailable_request_line(
    reviews: Any, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("model_missing")
    caplog.set_level("INFO")
    assert reviews.post("/sentiment", json={"text": "좋아요"}).status_code == 503
    assert reviews.get("/healthz").status_code == 200
    failed, ok = lines(caplog, "shared.http")[-2:]
    assert failed["httpRequest"]["status"] == 503
    assert failed["problem"] == "Model Unavailable"  # jsonPayload.problem="Model Unavailable"
    assert failed["logger"] == "shared.http"
    assert ok["httpRequest"]["status"] == 200 and ok["problem"] is None
    assert payload_fields("request_lines") <= set(failed)


def test_upload_report_line(on_upload: Any, gcs: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    blob = put(gcs, "metrics/mixed.jsonl", fixture("mixed.jsonl"))
    assert deliver(on_upload, event_for(blob)).status_code == 200
    (report,) = [r for r in lines(caplog, "shared.uploads") if r.get("status") == "done"]
    assert payload_fields("upload_lines") <= set(report)
    assert report["rejected_ratio"] == round(report["rejected"] / report["lines"], 4)
    assert report["rejected_ratio"] > 0 and report["lines_per_second"] > 0
