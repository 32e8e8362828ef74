locals {
  prefix = "${var.name}-${var.environment}"

  # What each deployed function is. reviews-uploads is deployed from the
  # reviews bundle (same main.py, CloudEvent entry point) but runs as its own
  # service account: it is the only identity that writes to the uploads
  # bucket, it never needs the API keys, and it must never be public. A
  # separate identity also shows up separately in audit logs and in
  # pg_stat_activity.
  function_specs = {
    movies = {
      bundle        = "movies"
      entry_point   = "movies"
      sa_suffix     = "fn-movies"
      public        = true  # reads are anonymous; writes checked in app code
      checks_writes = true  # verifies users' tokens and API_KEYS (Secret Manager)
      uses_model    = false # must not import onnxruntime; no model env
      event         = false
    }
    reviews = {
      bundle        = "reviews"
      entry_point   = "reviews"
      sa_suffix     = "fn-reviews"
      public        = true
      checks_writes = true
      uses_model    = true
      event         = false
    }
    reviews-uploads = {
      bundle        = "reviews"
      entry_point   = "on_upload"
      sa_suffix     = "fn-uploads"
      public        = false # invoked only by Eventarc with its own identity
      checks_writes = false
      uses_model    = true
      event         = true
    }
    ratings = {
      bundle        = "ratings"
      entry_point   = "ratings"
      sa_suffix     = "fn-ratings"
      public        = true
      checks_writes = false # read-only aggregates and leaderboards
      uses_model    = false
      event         = false
    }
  }

  http_functions   = { for k, v in local.function_specs : k => v if !v.event }
  public_functions = { for k, v in local.function_specs : k => v if v.public && !v.event }
  bundles          = toset([for v in values(local.function_specs) : v.bundle])

  bundle_dir = startswith(var.bundle_dir, "/") ? var.bundle_dir : "${path.root}/${var.bundle_dir}"

  # The connector logs in as the service account's email minus the
  # ".gserviceaccount.com" suffix; that is also the Cloud SQL IAM user name.
  # The jobs' identities (jobs.tf) log in the same way, as "job-<name>".
  db_iam_users = merge(
    { for k, sa in google_service_account.function : k => trimsuffix(sa.email, ".gserviceaccount.com") },
    { for k, sa in google_service_account.job : "job-${k}" => trimsuffix(sa.email, ".gserviceaccount.com") },
  )
  build_db_user = trimsuffix(var.build_service_account_email, ".gserviceaccount.com")

  # traces go to Cloud Trace unless the ratio is 0 (then nothing of OpenTelemetry loads)
  trace_exporter = var.trace_sample_ratio > 0 ? "cloud" : "none"

  model_uri = "gs://${google_storage_bucket.models.name}/sentiment/${var.model_version}/"
}
