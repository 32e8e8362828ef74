# The four deployed functions (Cloud Run functions, 2nd gen).

locals {
  function_env = {
    for k, spec in local.function_specs : k => merge(
      {
        INSTANCE_CONNECTION_NAME = google_sql_database_instance.main.connection_name
        DB_IAM_USER              = local.db_iam_users[k]
        DB_NAME                  = google_sql_database.app.name
        DB_POOL_SIZE             = tostring(var.functions[k].db_pool_size)
        DB_MAX_OVERFLOW          = tostring(var.functions[k].db_max_overflow)
        CORS_ORIGINS             = join(",", var.cors_origins)
        LOG_LEVEL                = var.log_level
        # spans to Cloud Trace (shared/tracing.py); the project names the traces the
        # log lines point at (logging.googleapis.com/trace)
        TRACE_EXPORTER       = local.trace_exporter
        TRACE_SAMPLE_RATIO   = tostring(var.trace_sample_ratio)
        GOOGLE_CLOUD_PROJECT = var.project_id
        # functions-framework runs gunicorn with THREADS threads (default
        # 4 x cores); match the request concurrency Cloud Run sends.
        THREADS = tostring(var.functions[k].concurrency)
      },
      # the functions that check writes verify users (Need.IDENTITY): whose
      # accounts, and how many writes each may make (identity.tf)
      spec.checks_writes ? {
        FIREBASE_PROJECT_ID  = var.project_id
        API_WRITE_RATE_LIMIT = var.identity.write_rate_limit
      } : {},
      spec.uses_model ? {
        MODELS_BUCKET  = google_storage_bucket.models.name
        UPLOADS_BUCKET = google_storage_bucket.uploads.name
        MODEL_URI      = local.model_uri
        MODEL_THREADS  = tostring(var.model_threads)
      } : {}, # large uploads fan out to the upload job (jobs.tf); never fewer tasks
      # than its parallelism, never more running fan-outs than the budget counts
      spec.event ? {
        UPLOAD_JOB                = google_cloud_run_v2_job.this["uploads"].id
        UPLOAD_FANOUT_MIN_TASKS   = tostring(var.jobs["uploads"].parallelism)
        UPLOAD_FANOUT_MAX_RUNNING = tostring(var.jobs["uploads"].max_executions)
      } : {},
    )
  }

  # With the load balancer on, the HTTP functions only take traffic through
  # it, so Cloud Armor cannot be bypassed via the run.app URL.
  http_ingress = var.enable_load_balancer ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_ALL"
}

resource "google_cloudfunctions2_function" "this" {
  # checkov:skip=CKV_GCP_124:HTTP functions are a public API (reads anonymous, writes need a signed-in user's token or an API key); the event function is internal-only. With enable_load_balancer ingress is limited to the LB.
  for_each = local.function_specs

  project     = var.project_id
  location    = var.region
  name        = "${local.prefix}-${each.key}"
  description = "${each.key} (${each.value.event ? "Eventarc storage finalize" : "HTTP"}), entry point ${each.value.entry_point}"

  build_config {
    runtime         = "python312"
    entry_point     = each.value.entry_point
    service_account = google_service_account.function_builder.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.bundle[each.value.bundle].name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function[each.key].email
    available_memory                 = var.functions[each.key].memory
    available_cpu                    = var.functions[each.key].cpu
    max_instance_request_concurrency = var.functions[each.key].concurrency
    min_instance_count               = var.functions[each.key].min_instances
    max_instance_count               = var.functions[each.key].max_instances
    timeout_seconds                  = var.functions[each.key].timeout_seconds
    ingress_settings                 = each.value.event ? "ALLOW_INTERNAL_ONLY" : local.http_ingress
    all_traffic_on_latest_revision   = true
    environment_variables            = local.function_env[each.key]

    dynamic "secret_environment_variables" {
      for_each = each.value.checks_writes ? [google_secret_manager_secret.api_keys.secret_id] : []
      content {
        key        = "API_KEYS"
        project_id = var.project_id
        secret     = secret_environment_variables.value
        # A pinned version: rotating keys is a change of api_keys_version,
        # which makes a new revision (a no-op apply would not).
        version = var.api_keys_version
      }
    }

    # signs list cursors; settings refuse to start a cloud instance without it.
    # Pinned like the API keys, so every instance holds the same key.
    secret_environment_variables {
      key        = "CURSOR_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.cursor_key.secret_id
      version    = var.cursor_key_version
    }
  }

  dynamic "event_trigger" {
    for_each = each.value.event ? [google_storage_bucket.uploads.name] : []
    content {
      # Storage triggers must live in the bucket's location.
      trigger_region        = lower(google_storage_bucket.uploads.location)
      event_type            = "google.cloud.storage.object.v1.finalized"
      retry_policy          = "RETRY_POLICY_RETRY" # off by default in the v2 API
      service_account_email = google_service_account.uploads_trigger.email

      event_filters {
        attribute = "bucket"
        value     = event_trigger.value
      }
    }
  }

  labels = {
    system      = var.name
    environment = var.environment
    function    = each.key
  }

  depends_on = [
    google_project_iam_member.sql,
    time_sleep.builder_iam_propagation,
    google_storage_bucket_iam_member.models_reader,
    google_storage_bucket_iam_member.uploads_admin,
    google_secret_manager_secret_iam_member.api_keys_accessor,
    google_secret_manager_secret_iam_member.cursor_key_accessor,
    time_sleep.eventarc_iam_propagation,
  ]
}

# Public invocation of the HTTP functions only: reads are anonymous and the
# write endpoints check the caller's token or X-API-Key in app code. Never the event function.
# Organisations with Domain Restricted Sharing (enforced by default since
# 2024) refuse allUsers bindings: set public_invoker = false there (callers
# then need run.invoker, see invoker_members) or get an org-policy exception
# for the project (docs/deploy.md, "Public access").
resource "google_cloud_run_v2_service_iam_member" "public_invoker" {
  # checkov:skip=CKV_GCP_102:Public HTTP API by design; writes are authenticated (users' ID tokens or API keys) in the application, and the event function is excluded.
  for_each = var.public_invoker ? local.public_functions : {}

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this[each.key].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Principals allowed to call the HTTP functions when they are not public
# (for example "domain:example.com" or "group:api-clients@example.com").
resource "google_cloud_run_v2_service_iam_member" "invokers" {
  for_each = {
    for pair in setproduct(keys(local.public_functions), var.invoker_members) :
    "${pair[0]}/${pair[1]}" => { function = pair[0], member = pair[1] }
  }

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this[each.value.function].name
  role     = "roles/run.invoker"
  member   = each.value.member
}

# Eventarc pushes to the event function as the trigger identity.
resource "google_cloud_run_v2_service_iam_member" "trigger_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this["reviews-uploads"].name
  role     = "roles/run.invoker"
  member   = google_service_account.uploads_trigger.member
}
