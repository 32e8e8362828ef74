# What an on-call engineer needs on day one: log-based metrics from our
# structured logs, alert policies with a runbook (docs/deploy.md, "Alerts and
# runbook"), uptime checks on every public function's /readyz, and a
# dashboard. Everything is derived from local.function_specs (locals.tf): a
# new function is covered by adding its entry there, nothing here changes.
# The web console (web.tf) is deployed outside function_specs (no database,
# no model) and joins the lists here as "web".

locals {
  # A 2nd gen function is a Cloud Run service of the same name.
  run_services  = { for k in concat(keys(local.function_specs), ["web"]) : k => "${local.prefix}-${k}" }
  http_services = [for k in concat(keys(local.http_functions), ["web"]) : local.run_services[k]]

  # Our own log lines (shared/logs.py): JSON on stdout, parsed by Cloud
  # Logging into jsonPayload; httpRequest (shared/http/, one line per
  # request) is lifted into the entry's httpRequest. Functions log as
  # Cloud Run services (cloud_run_revision), the jobs as cloud_run_job.
  our_logs      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=~\"^${local.prefix}-\""
  our_job_logs  = "resource.type=\"cloud_run_job\" AND resource.labels.job_name=~\"^${local.prefix}-\""
  request_lines = "${local.our_logs} AND jsonPayload.logger=\"shared.http\" AND httpRequest.status>0"
  # An upload's report line comes from the upload function, or, for an upload
  # fanned out over the uploads job, from that job's last task (shard_task.py).
  upload_lines = "((${local.our_logs}) OR (${local.our_job_logs})) AND jsonPayload.logger=\"shared.uploads\" AND jsonPayload.status=(\"done\" OR \"failed\")"
  by_function  = { function = "EXTRACT(resource.labels.service_name)" }
  # Where the upload metrics' time series live: one alert condition (and one
  # chart line) per resource type, since a condition watches one type.
  upload_resources = ["cloud_run_revision", "cloud_run_job"]

  log_metrics = {
    http-requests = {
      description = "Requests answered by our functions (one structured log line each)."
      filter      = local.request_lines
      labels      = local.by_function
      value       = null
    }
    http-5xx = {
      description = "Requests answered with a 5xx status."
      filter      = "${local.request_lines} AND httpRequest.status>=500"
      labels      = local.by_function
      value       = null
    }
    model-unavailable = {
      description = "Requests answered 503 Model Unavailable (the model could not be loaded from MODEL_URI)."
      filter      = "${local.request_lines} AND jsonPayload.problem=\"Model Unavailable\""
      labels      = local.by_function
      value       = null
    }
    uploads = {
      description = "Upload reports written, by status (done, failed)."
      filter      = local.upload_lines
      labels      = { status = "EXTRACT(jsonPayload.status)" }
      value       = null
    }
    upload-rejected-ratio = {
      description = "Share of an upload's lines that were rejected (one point per report)."
      filter      = local.upload_lines
      labels      = {}
      value       = { extractor = "EXTRACT(jsonPayload.rejected_ratio)", linear = true }
    }
    upload-throughput = {
      description = "Lines per second of each finished upload."
      filter      = local.upload_lines
      labels      = {}
      value       = { extractor = "EXTRACT(jsonPayload.lines_per_second)", linear = false }
    }
  }

  metric_type  = { for k in keys(local.log_metrics) : k => "logging.googleapis.com/user/${local.prefix}-${k}" }
  sql_database = "resource.label.database_id=\"${var.project_id}:${google_sql_database_instance.main.name}\""
  http_latency = join(" AND ", [
    "metric.type=\"run.googleapis.com/request_latencies\"",
    "resource.label.service_name=one_of(${join(",", formatlist("\"%s\"", local.http_services))})",
  ])

  # One alert policy per entry; `runbook` is the heading of its section in
  # docs/deploy.md (tests/docs check that every alert has one). `filter` and
  # `denominator` name no resource type: the policy has one condition per
  # entry of `resources`, each adding its resource.type.
  alerts = {
    http-5xx-ratio = {
      title       = "5xx ratio above ${var.alert_thresholds.error_ratio * 100}%"
      runbook     = "5xx ratio"
      resources   = ["cloud_run_revision"]
      filter      = "metric.type=\"${local.metric_type["http-5xx"]}\""
      denominator = "metric.type=\"${local.metric_type["http-requests"]}\""
      aligner     = "ALIGN_DELTA"
      reducer     = "REDUCE_SUM"
      group_by    = ["metric.label.function"]
      threshold   = var.alert_thresholds.error_ratio
      duration    = "300s"
    }
    model-unavailable = {
      title       = "Model unavailable (503)"
      runbook     = "Model unavailable"
      resources   = ["cloud_run_revision"]
      filter      = "metric.type=\"${local.metric_type["model-unavailable"]}\""
      denominator = null
      aligner     = "ALIGN_DELTA"
      reducer     = "REDUCE_SUM"
      group_by    = ["metric.label.function"]
      threshold   = 0
      duration    = "0s"
    }
    upload-failed = {
      title       = "Upload failed"
      runbook     = "Upload failed"
      resources   = local.upload_resources
      filter      = "metric.type=\"${local.metric_type["uploads"]}\" AND metric.label.status=\"failed\""
      denominator = null
      aligner     = "ALIGN_DELTA"
      reducer     = "REDUCE_SUM"
      group_by    = []
      threshold   = 0
      duration    = "0s"
    }
    upload-rejected-ratio = {
      title       = "Uploads rejecting over ${var.alert_thresholds.rejected_ratio * 100}% of lines"
      runbook     = "Rejected lines"
      resources   = local.upload_resources
      filter      = "metric.type=\"${local.metric_type["upload-rejected-ratio"]}\""
      denominator = null
      aligner     = "ALIGN_PERCENTILE_99"
      reducer     = "REDUCE_MAX"
      group_by    = []
      threshold   = var.alert_thresholds.rejected_ratio
      duration    = "0s"
    }
    http-p99-latency = {
      title       = "p99 latency above ${var.alert_thresholds.p99_latency_ms} ms"
      runbook     = "p99 latency"
      resources   = ["cloud_run_revision"]
      filter      = local.http_latency
      denominator = null
      aligner     = "ALIGN_PERCENTILE_99"
      reducer     = "REDUCE_MAX"
      group_by    = ["resource.label.service_name"]
      threshold   = var.alert_thresholds.p99_latency_ms
      duration    = "300s"
    }
    sql-cpu = {
      title       = "Cloud SQL CPU above ${var.alert_thresholds.sql_cpu * 100}%"
      runbook     = "Cloud SQL CPU"
      resources   = ["cloudsql_database"]
      filter      = "metric.type=\"cloudsql.googleapis.com/database/cpu/utilization\" AND ${local.sql_database}"
      denominator = null
      aligner     = "ALIGN_MEAN"
      reducer     = "REDUCE_MAX"
      group_by    = []
      threshold   = var.alert_thresholds.sql_cpu
      duration    = "600s"
    }
    sql-connections = {
      title       = "Cloud SQL connections above ${var.alert_thresholds.sql_connections * 100}% of max_connections"
      runbook     = "Cloud SQL connections"
      resources   = ["cloudsql_database"]
      filter      = "metric.type=\"cloudsql.googleapis.com/database/postgresql/num_backends\" AND ${local.sql_database}"
      denominator = null
      aligner     = "ALIGN_MAX"
      reducer     = "REDUCE_SUM"
      group_by    = []
      threshold   = floor(local.db_max_connections * var.alert_thresholds.sql_connections)
      duration    = "300s"
    }
    # Cloud Run Jobs of this environment (bulk rescoring, large uploads),
    # selected by name prefix so every job is covered.
    job-failed = {
      title       = "Job execution failed"
      runbook     = "Job failed"
      resources   = ["cloud_run_job"]
      filter      = "metric.type=\"run.googleapis.com/job/completed_execution_count\" AND resource.label.job_name=starts_with(\"${local.prefix}-\") AND metric.label.result=\"failed\""
      denominator = null
      aligner     = "ALIGN_DELTA"
      reducer     = "REDUCE_SUM"
      group_by    = ["resource.label.job_name"]
      threshold   = 0
      duration    = "0s"
    }
    readyz-down = {
      title       = "/readyz failing"
      runbook     = "readyz failing"
      resources   = ["uptime_url"]
      filter      = "metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND metric.label.check_id=one_of(${join(",", [for c in google_monitoring_uptime_check_config.readyz : "\"${c.uptime_check_id}\""])})"
      denominator = null
      aligner     = "ALIGN_NEXT_OLDER"
      reducer     = "REDUCE_COUNT_FALSE"
      group_by    = ["metric.label.check_id"]
      threshold   = 1
      duration    = "120s"
    }
  }

  notification_channels = concat(
    [for c in google_monitoring_notification_channel.email : c.id],
    var.alert_notification_channels,
  )

  # Uptime checks: through the load balancer when it is on (the run.app URLs
  # then refuse outside traffic), otherwise each function's run.app URL.
  # Private functions (public_invoker = false) are called with an OIDC token
  # of the Monitoring service agent, which gets run.invoker below.
  uptime_targets = merge({
    for k in keys(local.public_functions) : k => {
      host = var.enable_load_balancer ? var.domain : trimprefix(google_cloudfunctions2_function.this[k].service_config[0].uri, "https://")
      path = var.enable_load_balancer ? "/readyz/${k}" : "/readyz"
    }
    }, {
    # the console is the load balancer's default route: its /readyz is plain
    web = {
      host = var.enable_load_balancer ? var.domain : trimprefix(google_cloudfunctions2_function.web.service_config[0].uri, "https://")
      path = "/readyz"
    }
  })
  uptime_oidc = !var.public_invoker && !var.enable_load_balancer
}

resource "google_logging_metric" "this" {
  for_each = local.log_metrics

  project     = var.project_id
  name        = "${local.prefix}-${each.key}"
  description = each.value.description
  filter      = each.value.filter

  label_extractors = each.value.labels
  value_extractor  = each.value.value == null ? null : each.value.value.extractor

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = each.value.value == null ? "INT64" : "DISTRIBUTION"
    unit        = "1"

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }

  # Ratios in [0, 1] in 5% steps; throughputs on a doubling scale from 10 lines/s.
  dynamic "bucket_options" {
    for_each = each.value.value == null ? [] : [each.value.value]
    content {
      dynamic "linear_buckets" {
        for_each = bucket_options.value.linear ? [1] : []
        content {
          num_finite_buckets = 20
          width              = 0.05
          offset             = 0
        }
      }
      dynamic "exponential_buckets" {
        for_each = bucket_options.value.linear ? [] : [1]
        content {
          num_finite_buckets = 16
          growth_factor      = 2
          scale              = 10
        }
      }
    }
  }

  depends_on = [google_project_service.this]
}

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  project      = var.project_id
  display_name = "${local.prefix} alerts: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }

  depends_on = [google_project_service.this]
}

resource "google_monitoring_alert_policy" "this" {
  for_each = local.alerts

  project               = var.project_id
  display_name          = "${local.prefix}: ${each.value.title}"
  combiner              = "OR"
  severity              = contains(["model-unavailable", "readyz-down", "http-5xx-ratio"], each.key) ? "CRITICAL" : "WARNING"
  notification_channels = local.notification_channels

  # One condition per resource type the metric lives on (combiner OR): an
  # upload finished by the uploads job counts as much as one the function did.
  dynamic "conditions" {
    for_each = toset(each.value.resources)
    content {
      display_name = length(each.value.resources) > 1 ? "${each.value.title} (${conditions.value})" : each.value.title

      condition_threshold {
        filter             = "${each.value.filter} AND resource.type=\"${conditions.value}\""
        denominator_filter = each.value.denominator == null ? null : "${each.value.denominator} AND resource.type=\"${conditions.value}\""
        comparison         = "COMPARISON_GT"
        threshold_value    = each.value.threshold
        duration           = each.value.duration

        aggregations {
          alignment_period     = "300s"
          per_series_aligner   = each.value.aligner
          cross_series_reducer = each.value.reducer
          group_by_fields      = each.value.group_by
        }

        dynamic "denominator_aggregations" {
          for_each = each.value.denominator == null ? [] : [1]
          content {
            alignment_period     = "300s"
            per_series_aligner   = each.value.aligner
            cross_series_reducer = each.value.reducer
            group_by_fields      = each.value.group_by
          }
        }

        trigger {
          count = 1
        }
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "${local.prefix}: ${each.value.title}"
    content   = "Runbook: docs/deploy.md, section \"Alerts and runbook\", entry \"${each.value.runbook}\". Dashboard: ${local.prefix} operations."
  }

  user_labels = {
    system      = var.name
    environment = var.environment
  }

  # Log-based metrics are refused by the alerting API (404 "Cannot find
  # metric(s)", for up to 10 minutes) right after they are created:
  # hashicorp/terraform-provider-google#11102.
  depends_on = [time_sleep.log_metrics_usable]
}

# The wait between creating log-based metrics and alerting on them, so that
# the first apply succeeds. It starts again whenever a metric is added or
# recreated (triggers), and runs beside the Cloud SQL instance's creation,
# which the alerts wait for anyway (sql-* conditions name it).
resource "time_sleep" "log_metrics_usable" {
  create_duration = "300s"

  triggers = { for k, m in google_logging_metric.this : k => m.id }
}

resource "google_monitoring_uptime_check_config" "readyz" {
  for_each = local.uptime_targets

  project      = var.project_id
  display_name = "${local.prefix}-${each.key} /readyz"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = each.value.path
    port         = 443
    use_ssl      = true
    validate_ssl = true

    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }

    dynamic "service_agent_authentication" {
      for_each = local.uptime_oidc ? [1] : []
      content {
        type = "OIDC_TOKEN"
      }
    }
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = each.value.host
    }
  }

  depends_on = [google_project_service.this]
}

data "google_project" "this" {
  project_id = var.project_id
}

# The uptime checks' OIDC tokens are the Monitoring notification service
# agent's (service-<number>@gcp-sa-monitoring-notification), which a project
# only has once Monitoring has needed it: create it before granting it
# anything, or the binding fails on a fresh project.
resource "google_project_service_identity" "monitoring" {
  count    = local.uptime_oidc ? 1 : 0
  provider = google-beta

  project = var.project_id
  service = "monitoring.googleapis.com"

  depends_on = [google_project_service.this]
}

resource "google_cloud_run_v2_service_iam_member" "uptime_invoker" {
  for_each = local.uptime_oidc ? local.public_functions : {}

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"

  depends_on = [google_project_service_identity.monitoring]
}

resource "google_monitoring_dashboard" "ops" {
  project = var.project_id
  # Plain placeholders only (no quotes in their values), so the file stays
  # JSON that tests can render and read. Charts group by function, so a new
  # function appears without editing the file.
  dashboard_json = templatefile("${path.module}/dashboard.json.tftpl", {
    title           = "${local.prefix} operations"
    prefix          = local.prefix
    sql_database_id = "${var.project_id}:${google_sql_database_instance.main.name}"
  })

  depends_on = [google_project_service.this]
}
