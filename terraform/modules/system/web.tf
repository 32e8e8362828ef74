# The web console (functions/web): the site people use, a public HTTP function
# that renders pages from the other functions' public APIs. It never touches
# the database or the model, so it has no Cloud SQL role, no database user and
# no model bucket access. Its identity may: read the API-key secret (the write
# key it sends on behalf of its users, never to the browser), create objects
# in the uploads bucket (never overwrite or delete), and read back only the
# report and rejects of its own uploads (objects under console/).

variable "web" {
  description = "Sizing and limits of the web console function. write_rate_limit is per client and per instance (Cloud Armor is the global cap with the load balancer on); upload_max_bytes caps one uploaded file."
  type = object({
    memory           = string
    cpu              = string
    concurrency      = number
    min_instances    = number
    max_instances    = number
    timeout_seconds  = number
    write_rate_limit = string
    upload_max_bytes = number
  })
  default = {
    memory           = "512Mi"
    cpu              = "1"
    concurrency      = 16
    min_instances    = 0
    max_instances    = 4
    timeout_seconds  = 60
    write_rate_limit = "30/minute"
    upload_max_bytes = 10485760
  }

  validation {
    condition     = can(regex("^[1-9][0-9]{0,6}/(second|minute|hour|day)$", var.web.write_rate_limit))
    error_message = "web.write_rate_limit looks like 30/minute (second, minute, hour or day)."
  }

  validation {
    condition     = var.web.min_instances <= var.web.max_instances && var.web.max_instances >= 1
    error_message = "web needs 1 <= max_instances and min_instances <= max_instances."
  }
}

locals {
  # Where the console calls the APIs: with the load balancer on, its one base
  # URL (the functions' ingress admits only the load balancer, so Cloud Armor
  # is never bypassed); without it, each function's own run.app URL.
  web_api_env = var.enable_load_balancer ? {
    API_BASE_URL = "https://${var.domain}"
    } : {
    MOVIES_API_URL  = google_cloudfunctions2_function.this["movies"].service_config[0].uri
    REVIEWS_API_URL = google_cloudfunctions2_function.this["reviews"].service_config[0].uri
    RATINGS_API_URL = google_cloudfunctions2_function.this["ratings"].service_config[0].uri
  }

  web_env = merge(local.web_api_env, {
    UPLOADS_BUCKET       = google_storage_bucket.uploads.name
    LOG_LEVEL            = var.log_level
    WEB_WRITE_RATE_LIMIT = var.web.write_rate_limit
    WEB_UPLOAD_MAX_BYTES = tostring(var.web.upload_max_bytes)
    # Google's front end appends the client's address to X-Forwarded-For; the
    # load balancer appends its own after it. Entries further left come from
    # the client and are never trusted for the per-client limit.
    WEB_TRUSTED_PROXY_HOPS = var.enable_load_balancer ? "2" : "1"
    THREADS                = tostring(var.web.concurrency)
    }, var.enable_load_balancer ? {
    # The console's own API calls reach the load balancer from Google's shared
    # egress addresses; this token lets Cloud Armor tell them from a client
    # (lb.tf, priority 1500) so the per-IP budget applies to people only.
    CONSOLE_TOKEN = terraform_data.console_token.output
  } : {})
}

# A random token made once and kept (a new uuid() on every plan is ignored).
resource "terraform_data" "console_token" {
  input = uuid()

  lifecycle {
    ignore_changes = [input]
  }
}

resource "google_service_account" "web" {
  project      = var.project_id
  account_id   = "${local.prefix}-fn-web"
  display_name = "${local.prefix} web console function runtime"

  depends_on = [google_project_service.this]
}

resource "google_project_iam_member" "web_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.web.member
}

resource "google_secret_manager_secret_iam_member" "web_api_keys_accessor" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.api_keys.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.web.member
}

# Create only: objectCreator has no storage.objects.delete, so an upload can
# never replace an existing object (the console also sends ifGenerationMatch=0).
resource "google_storage_bucket_iam_member" "web_uploads_creator" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.web.member
}

# Read back the handler's report and rejects of console uploads, nothing else.
resource "google_storage_bucket_iam_member" "web_reads_upload_results" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.web.member

  condition {
    title       = "console-upload-results"
    description = "reports/ and rejects/ of objects the console uploaded (console/...)"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.uploads.name}/objects/reports/console/\") || resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.uploads.name}/objects/rejects/console/\")"
  }
}

resource "google_storage_bucket_object" "web_bundle" {
  bucket       = google_storage_bucket.sources.name
  name         = "web/${filesha256("${local.bundle_dir}/web.zip")}.zip"
  source       = "${local.bundle_dir}/web.zip"
  content_type = "application/zip"
}

resource "google_cloudfunctions2_function" "web" {
  # checkov:skip=CKV_GCP_124:The web console is the public site; with enable_load_balancer its ingress is limited to the load balancer (Cloud Armor in front).
  project     = var.project_id
  location    = var.region
  name        = "${local.prefix}-web"
  description = "web console (HTTP), entry point web"

  build_config {
    runtime         = "python312"
    entry_point     = "web"
    service_account = google_service_account.function_builder.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.web_bundle.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.web.email
    available_memory                 = var.web.memory
    available_cpu                    = var.web.cpu
    max_instance_request_concurrency = var.web.concurrency
    min_instance_count               = var.web.min_instances
    max_instance_count               = var.web.max_instances
    timeout_seconds                  = var.web.timeout_seconds
    ingress_settings                 = local.http_ingress
    all_traffic_on_latest_revision   = true
    environment_variables            = local.web_env

    # The write key the console sends (the first of API_KEYS); it also
    # derives the key that signs the console's sessions and CSRF tokens.
    secret_environment_variables {
      key        = "API_KEYS"
      project_id = var.project_id
      secret     = google_secret_manager_secret.api_keys.secret_id
      version    = var.api_keys_version
    }
  }

  labels = {
    system      = var.name
    environment = var.environment
    function    = "web"
  }

  depends_on = [
    time_sleep.builder_iam_propagation,
    google_secret_manager_secret_iam_member.web_api_keys_accessor,
    google_storage_bucket_iam_member.web_uploads_creator,
    google_storage_bucket_iam_member.web_reads_upload_results,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "web_public" {
  # checkov:skip=CKV_GCP_102:The web console is the public site; writes go through it with the key held server-side, CSRF tokens and per-client limits.
  count = var.public_invoker ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.web.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "web_invokers" {
  for_each = toset(var.invoker_members)

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.web.name
  role     = "roles/run.invoker"
  member   = each.value
}

# The /readyz uptime check (monitoring.tf) calls a private console with the
# Monitoring service agent's OIDC token, as it does the functions.
resource "google_cloud_run_v2_service_iam_member" "web_uptime_invoker" {
  count = local.uptime_oidc ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.web.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"
}

# --- behind the load balancer: the default route (lb.tf) ------------------------

resource "google_compute_region_network_endpoint_group" "web" {
  count = local.lb_count

  project               = var.project_id
  region                = var.region
  name                  = "${local.prefix}-web-neg"
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = google_cloudfunctions2_function.web.name
  }
}

resource "google_compute_backend_service" "web" {
  count = local.lb_count

  project               = var.project_id
  name                  = "${local.prefix}-web"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"
  security_policy       = google_compute_security_policy.api[0].id

  backend {
    group = google_compute_region_network_endpoint_group.web[0].id
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }
}

output "web_url" {
  description = "The web console: the load balancer's base URL when it is on, else the function's run.app URL."
  value       = var.enable_load_balancer ? "https://${var.domain}" : google_cloudfunctions2_function.web.service_config[0].uri
}
