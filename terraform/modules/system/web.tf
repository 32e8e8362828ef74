# The web console (functions/web): the site people use, a public HTTP function
# that renders pages from the other functions' public APIs. It never touches
# the database or the model, so it has no Cloud SQL role, no database user and
# no model bucket access. It holds no API key: people sign in to it (Identity
# Platform, server-side, a session cookie) and it calls the APIs with the
# signed-in user's own session as the credential, so the functions decide
# what each person may do. Its identity may: read the cursor-key secret (the
# console's CSRF key is derived from it), read the web API key it signs
# people in with, manage sessions (firebaseauth.admin), create objects in the
# uploads bucket (never overwrite or delete), read back only the report and
# rejects of its own uploads (objects under console/), and, when the
# functions are not public, invoke them (run.invoker, with its ID token), and,
# with Google sign-in on, read that OAuth client's secret.

variable "web" {
  description = "Sizing and limits of the web console function. write_rate_limit is per signed-in user, sign_in_rate_limit and sign_up_rate_limit per client address, all per instance (Cloud Armor is the global cap with the load balancer on); upload_max_bytes caps one uploaded file."
  type = object({
    memory             = string
    cpu                = string
    concurrency        = number
    min_instances      = number
    max_instances      = number
    timeout_seconds    = number
    write_rate_limit   = string
    sign_in_rate_limit = string
    sign_up_rate_limit = string
    upload_max_bytes   = number
  })
  default = {
    memory             = "512Mi"
    cpu                = "1"
    concurrency        = 16
    min_instances      = 0
    max_instances      = 4
    timeout_seconds    = 60
    write_rate_limit   = "30/minute"
    sign_in_rate_limit = "10/minute"
    sign_up_rate_limit = "10/hour"
    upload_max_bytes   = 10485760
  }

  validation {
    condition = alltrue([
      for rate in [var.web.write_rate_limit, var.web.sign_in_rate_limit, var.web.sign_up_rate_limit] :
      can(regex("^[1-9][0-9]{0,6}/(second|minute|hour|day)$", rate))
    ])
    error_message = "web.write_rate_limit, sign_in_rate_limit and sign_up_rate_limit look like 30/minute (second, minute, hour or day)."
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
    UPLOADS_BUCKET         = google_storage_bucket.uploads.name
    LOG_LEVEL              = var.log_level
    FIREBASE_PROJECT_ID    = var.project_id # whose users sign in (Identity Platform)
    WEB_WRITE_RATE_LIMIT   = var.web.write_rate_limit
    WEB_SIGN_IN_RATE_LIMIT = var.web.sign_in_rate_limit
    WEB_SIGN_UP_RATE_LIMIT = var.web.sign_up_rate_limit
    WEB_UPLOAD_MAX_BYTES   = tostring(var.web.upload_max_bytes)
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
    } : {}, local.google_sign_in ? {
    # Google sign-in's OAuth client (identity.tf); its secret is mounted below
    GOOGLE_SIGN_IN_CLIENT_ID = var.identity.google_client_id
    } : {}, var.public_invoker ? {} : {
    # Private functions admit only IAM invokers: the console sends its own
    # Google-signed ID token for each function's URL (shared/web/invoker.py)
    # beside the user's session (web_invokes_functions below).
    API_ID_TOKENS = "true"
  })
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

# Sessions: making a session cookie from a fresh sign-in, checking revocation
# on every write and account page, revoking at sign-out, deleting an account.
# Identity Platform has no narrower predefined role that allows these.
resource "google_project_iam_member" "web_identity_admin" {
  project = var.project_id
  role    = "roles/firebaseauth.admin"
  member  = google_service_account.web.member
}

# The console signs its sessions and CSRF tokens with a key derived from the
# cursor key (Settings.console_key): the same on every instance, one secret
# fewer to manage. It reads no API key: it has none.
resource "google_secret_manager_secret_iam_member" "web_cursor_key_accessor" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.cursor_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.web.member
}

# Google sign-in: the OAuth client's secret (made by an operator, identity.tf),
# that one secret only, and only when Google sign-in is on.
resource "google_secret_manager_secret_iam_member" "web_google_sign_in_accessor" {
  count = local.google_sign_in ? 1 : 0

  project   = var.project_id
  secret_id = data.google_secret_manager_secret_version.google_sign_in[0].secret
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.web.member
}

# With public_invoker = false the functions admit only principals holding
# run.invoker: the console is one (it sends its ID token in
# X-Serverless-Authorization and the user's session in Authorization).
resource "google_cloud_run_v2_service_iam_member" "web_invokes_functions" {
  for_each = var.public_invoker ? {} : local.public_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.web.member
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

    # The key the console's sessions and CSRF tokens are derived from, pinned
    # like the functions' (a new version restarts the console with it).
    secret_environment_variables {
      key        = "CURSOR_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.cursor_key.secret_id
      version    = var.cursor_key_version
    }

    # The web API key it signs people up and in with (Need.SIGN_IN;
    # identity.tf): the version Terraform wrote, so a new key is a new revision.
    secret_environment_variables {
      key        = "FIREBASE_WEB_API_KEY"
      project_id = var.project_id
      secret     = google_secret_manager_secret.web_api_key.secret_id
      version    = google_secret_manager_secret_version.web_api_key.version
    }

    # Google sign-in (identity.google_client_id set): the OAuth client's secret
    # the console exchanges Google's codes with, the version identity.tf read.
    dynamic "secret_environment_variables" {
      for_each = data.google_secret_manager_secret_version.google_sign_in
      content {
        key        = "GOOGLE_SIGN_IN_CLIENT_SECRET"
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  labels = {
    system      = var.name
    environment = var.environment
    function    = "web"
  }

  depends_on = [
    time_sleep.builder_iam_propagation,
    google_secret_manager_secret_iam_member.web_cursor_key_accessor,
    google_secret_manager_secret_iam_member.web_api_key_accessor,
    google_secret_manager_secret_iam_member.web_google_sign_in_accessor,
    google_storage_bucket_iam_member.web_uploads_creator,
    google_storage_bucket_iam_member.web_reads_upload_results,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "web_public" {
  # checkov:skip=CKV_GCP_102:The web console is the public site; people sign in to write (Identity Platform), every write is checked by the functions against the user's own identity, with CSRF tokens and per-user limits.
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
