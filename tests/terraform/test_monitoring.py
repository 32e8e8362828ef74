"""Operations in Terraform (monitoring.tf): metrics, alerts, uptime checks, dashboard.

Everything must follow the function list in locals.tf, so that a new function is covered
without touching monitoring.tf, and every alert must have a runbook entry in the guide.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.support import REPO
from tests.terraform.test_terraform import MODULE, Config, blocks, dynamic, load, specs

DASHBOARD = MODULE / "dashboard.json.tftpl"
GUIDE = REPO / "docs" / "deploy.md"


@pytest.fixture(scope="module")
def module() -> Config:
    return load(MODULE)


def alerts(module: Config) -> dict[str, dict[str, Any]]:
    value = module.locals["alerts"]
    assert isinstance(value, dict)
    return value


def render_dashboard(prefix: str = "kmr-dev") -> dict[str, Any]:
    text = DASHBOARD.read_text(encoding="utf-8")
    values = {"title": f"{prefix} operations", "prefix": prefix, "sql_database_id": "p:kmr-pg"}
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(values), "unknown template variables"
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    data: dict[str, Any] = json.loads(text)
    return data


def dashboard_filters() -> list[str]:
    tiles = render_dashboard()["mosaicLayout"]["tiles"]
    return [
        ds["timeSeriesQuery"]["timeSeriesFilter"]["filter"]
        for tile in tiles
        for ds in tile["widget"]["xyChart"]["dataSets"]
    ]


def test_monitoring_names_no_function(module: Config) -> None:
    """Coverage follows local.function_specs; no function is named in monitoring.tf."""
    text = (MODULE / "monitoring.tf").read_text(encoding="utf-8")
    for name in specs(module):
        assert f'"{name}"' not in text and f"[{name}]" not in text, name
    assert "local.function_specs" in module.locals["run_services"]
    assert "local.http_functions" in module.locals["http_services"]
    uptime = module.resource("google_monitoring_uptime_check_config", "readyz")
    assert uptime["for_each"] == "${local.uptime_targets}"
    assert "keys(local.public_functions)" in module.locals["uptime_targets"]
    # request lines of every function of this environment, by name prefix
    assert 'service_name=~"^${local.prefix}-"' in module.locals["our_logs"]


def test_log_metrics_from_our_structured_logs(module: Config) -> None:
    metrics = module.locals["log_metrics"]
    assert set(metrics) == {
        "http-requests",
        "http-5xx",
        "model-unavailable",
        "uploads",
        "upload-rejected-ratio",
        "upload-throughput",
    }
    assert "httpRequest.status>=500" in metrics["http-5xx"]["filter"]
    assert 'jsonPayload.problem="Model Unavailable"' in metrics["model-unavailable"]["filter"]
    assert metrics["uploads"]["labels"] == {"status": "EXTRACT(jsonPayload.status)"}
    assert "rejected_ratio" in metrics["upload-rejected-ratio"]["value"]["extractor"]
    resource = module.resource("google_logging_metric", "this")
    assert resource["for_each"] == "${local.log_metrics}"


def test_alerts_cover_what_on_call_needs(module: Config) -> None:
    found = alerts(module)
    assert set(found) == {
        "http-5xx-ratio",
        "model-unavailable",
        "upload-failed",
        "upload-rejected-ratio",
        "http-p99-latency",
        "sql-cpu",
        "sql-connections",
        "job-failed",
        "readyz-down",
    }
    metric_types = module.locals["metric_type"]
    assert "logging.googleapis.com/user/${local.prefix}-${k}" in metric_types
    for key, alert in found.items():
        filt = alert["filter"]
        used = re.findall(r'local\.metric_type\[\\?"([\w-]+)\\?"\]', filt)
        assert set(used) <= set(module.locals["log_metrics"]), (key, used)
    assert "denominator" in found["http-5xx-ratio"] and found["http-5xx-ratio"]["denominator"]
    assert "request_latencies" in module.locals["http_latency"]
    assert "num_backends" in found["sql-connections"]["filter"]
    # Cloud Run Jobs of the environment, whatever their names (jobs.tf)
    assert 'job_name=starts_with("${local.prefix}-")' in found["job-failed"]["filter"]
    assert "local.db_max_connections" in str(found["sql-connections"]["threshold"])
    policy = module.resource("google_monitoring_alert_policy", "this")
    assert policy["notification_channels"] == "${local.notification_channels}"
    assert "var.alert_notification_channels" in module.locals["notification_channels"]
    condition = dynamic(policy, "conditions")["content"][0]["condition_threshold"][0]
    assert dynamic(condition, "denominator_aggregations")


def test_each_condition_watches_one_resource_type(module: Config) -> None:
    """A condition is per resource type; the alert lists the types its metric lives on."""
    for key, alert in alerts(module).items():
        assert alert["resources"], key
        assert "resource.type" not in alert["filter"], key
        assert "resource.type" not in str(alert["denominator"] or ""), key
    conditions = dynamic(module.resource("google_monitoring_alert_policy", "this"), "conditions")
    assert conditions["for_each"] == "${toset(each.value.resources)}"
    threshold = conditions["content"][0]["condition_threshold"][0]
    assert threshold["filter"] == '${each.value.filter} AND resource.type="${conditions.value}"'
    assert threshold["denominator_filter"] == (
        "${each.value.denominator == null ? null : "
        '"${each.value.denominator} AND resource.type=\\"${conditions.value}\\""}'
    )


def test_uploads_finished_by_the_uploads_job_are_counted(module: Config) -> None:
    """A fanned-out upload's report line is logged by the job's last task (cloud_run_job)."""
    from shared.uploads import handler, shard_task

    loc = module.locals
    assert loc["upload_resources"] == ["cloud_run_revision", "cloud_run_job"]
    assert 'resource.type="cloud_run_job"' in loc["our_job_logs"]
    # the job's name (jobs.tf) has the environment's prefix the filter selects by
    assert 'job_name=~"^${local.prefix}-"' in loc["our_job_logs"]
    job = module.resource("google_cloud_run_v2_job", "this")
    assert job["name"] == "${local.prefix}-${each.key}" and "uploads" in loc["job_specs"]
    assert "(${local.our_logs}) OR (${local.our_job_logs})" in loc["upload_lines"]
    # the report line is the handler's finish(), whoever calls it, on this logger
    assert handler.log.name == shard_task.log.name == "shared.uploads"
    assert 'jsonPayload.logger="shared.uploads"' in loc["upload_lines"]
    for metric in ("uploads", "upload-rejected-ratio", "upload-throughput"):
        assert loc["log_metrics"][metric]["filter"] == "${local.upload_lines}", metric
    for key in ("upload-failed", "upload-rejected-ratio"):
        assert alerts(module)[key]["resources"] == "${local.upload_resources}", key


def test_alerts_wait_until_their_log_metrics_are_usable(module: Config) -> None:
    """New log-based metrics answer 404 to the alerting API for minutes (provider #11102)."""
    on_log_metrics = [k for k, a in alerts(module).items() if "local.metric_type[" in a["filter"]]
    assert {"http-5xx-ratio", "model-unavailable", "upload-failed"} <= set(on_log_metrics)
    policy = module.resource("google_monitoring_alert_policy", "this")
    assert "${time_sleep.log_metrics_usable}" in policy["depends_on"]
    wait = module.resource("time_sleep", "log_metrics_usable")
    assert wait["triggers"] == "${{for k, m in google_logging_metric.this : k => m.id}}"
    seconds = int(wait["create_duration"].removesuffix("s"))
    assert seconds >= 120


def test_the_monitoring_agent_exists_before_it_may_invoke(module: Config) -> None:
    identity = module.resource("google_project_service_identity", "monitoring")
    assert identity["service"] == "monitoring.googleapis.com"
    assert identity["provider"].strip("${}") == "google-beta"
    assert identity["count"] == "${local.uptime_oidc ? 1 : 0}"
    invoker = module.resource("google_cloud_run_v2_service_iam_member", "uptime_invoker")
    assert "${google_project_service_identity.monitoring}" in invoker["depends_on"]


def test_every_alert_has_a_runbook_entry(module: Config) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    section = re.split(r"^## (?:\d+\. )?Alerts and runbook$", guide, flags=re.M)
    assert len(section) == 2, "docs/deploy.md has no 'Alerts and runbook' section"
    runbook = section[1].split("\n## ", 1)[0]
    for key, alert in alerts(module).items():
        assert f"**{alert['runbook']}**" in runbook, f"{key}: no runbook entry {alert['runbook']}"


def test_uptime_checks_probe_readyz(module: Config) -> None:
    uptime = module.resource("google_monitoring_uptime_check_config", "readyz")
    check = uptime["http_check"][0]
    assert check["use_ssl"] is True and check["path"] == "${each.value.path}"
    assert '"/readyz/${k}"' in module.locals["uptime_targets"]
    assert ': "/readyz"' in module.locals["uptime_targets"]
    auth = dynamic(check, "service_agent_authentication")
    assert auth["content"][0]["type"] == "OIDC_TOKEN"
    invoker = module.resource("google_cloud_run_v2_service_iam_member", "uptime_invoker")
    assert "gcp-sa-monitoring-notification" in invoker["member"]
    # with the load balancer on, /readyz/<function> is routed to that function's /readyz
    url_map = module.resource("google_compute_url_map", "https")
    rules = [r for r in blocks(url_map["path_matcher"][0], "route_rules") if "route_action" in r]
    (readyz,) = rules
    assert readyz["match_rules"][0]["full_path_match"] == "/readyz/${route_rules.value}"
    assert readyz["route_action"][0]["url_rewrite"][0]["path_prefix_rewrite"] == "/readyz"


def test_dashboard_charts(module: Config) -> None:
    board = render_dashboard()
    titles = [t["widget"]["title"] for t in board["mosaicLayout"]["tiles"]]
    for wanted in (
        "Requests/s",
        "5xx/s",
        "Latency p50",
        "Latency p99",
        "Instances",
        "Upload throughput",
        "Cloud SQL CPU",
        "Cloud SQL connections",
        "Job executions",
    ):
        assert any(t.startswith(wanted) for t in titles), wanted
    defined = {f"logging.googleapis.com/user/kmr-dev-{k}" for k in module.locals["log_metrics"]}
    for filt in dashboard_filters():
        metric = re.search(r'metric.type="([^"]+)"', filt)
        assert metric, filt
        if metric.group(1).startswith("logging.googleapis.com/user/"):
            assert metric.group(1) in defined, metric.group(1)
        # a new function shows up by itself: charts select by name prefix, not by name
        assert "one_of" not in filt
    dash = module.resource("google_monitoring_dashboard", "ops")
    assert "dashboard.json.tftpl" in dash["dashboard_json"]


def test_upload_charts_count_the_function_and_the_uploads_job(module: Config) -> None:
    upload_metrics = {
        f"logging.googleapis.com/user/kmr-dev-{k}"
        for k in ("uploads", "upload-throughput", "upload-rejected-ratio")
    }
    by_metric: dict[str, set[str]] = {}
    for filt in dashboard_filters():
        metric = re.search(r'metric.type="([^"]+)"', filt)
        resource = re.search(r'resource.type="([^"]+)"', filt)
        assert metric and resource, filt
        by_metric.setdefault(metric.group(1), set()).add(resource.group(1))
    for name in upload_metrics:
        assert by_metric[name] == {"cloud_run_revision", "cloud_run_job"}, name


def test_monitoring_api_and_settings(module: Config) -> None:
    assert "monitoring.googleapis.com" in module.locals["services"]
    thresholds = module.variables["alert_thresholds"]
    assert "error_ratio" in thresholds["type"] and thresholds["default"] == {}


def test_alert_values_are_valid_for_the_provider(module: Config) -> None:
    """The aligners and reducers kept in locals are enum values of the pinned provider."""
    from infra import tfschema

    schema = tfschema.load(tfschema.PROVIDERS["google"])["resources"]
    condition = schema["google_monitoring_alert_policy"]["blocks"]["conditions"]["schema"]
    aggregation = condition["blocks"]["condition_threshold"]["schema"]["blocks"]["aggregations"]
    enums = aggregation["schema"]["attributes"]
    for key, alert in alerts(module).items():
        assert alert["aligner"] in enums["per_series_aligner"]["enum"], key
        assert alert["reducer"] in enums["cross_series_reducer"]["enum"], key
    metric = schema["google_logging_metric"]["blocks"]["metric_descriptor"]["schema"]
    assert {"DELTA"} <= set(metric["attributes"]["metric_kind"]["enum"])
    assert {"INT64", "DISTRIBUTION"} <= set(metric["attributes"]["value_type"]["enum"])
