# Identity Platform (Firebase Authentication): the accounts people sign in
# with (shared/identity). Terraform initialises it once for the project:
# email/password sign-in, Google sign-in when an OAuth client is configured,
# the site's domain authorised, every request logged. The web API key it makes
# reaches the console only through Secret Manager. The functions that verify
# users get the project (FIREBASE_PROJECT_ID, functions.tf) and may look
# accounts up for revocation checks, nothing more.
#
# Initialising needs billing on the project. Identity Platform enabled by hand
# before is imported first; destroying the config only forgets it (it cannot be
# switched off): docs/deploy.md, "Accounts".

# The first calls after the API is enabled may still be refused (403
# SERVICE_DISABLED) for a minute.
resource "time_sleep" "identity_api_propagation" {
  create_duration = "60s"

  depends_on = [google_project_service.this]
}

locals {
  # The site's own domain (with the load balancer) and any the operator adds,
  # e.g. the console's run.app host without one.
  authorized_domains = distinct(compact(concat([var.domain], var.identity.authorized_domains)))
  google_sign_in     = var.identity.google_client_id != ""
}

resource "google_identity_platform_config" "this" {
  project            = var.project_id
  authorized_domains = local.authorized_domains

  sign_in {
    allow_duplicate_emails = false

    email {
      enabled           = true
      password_required = true
    }
  }

  # People sign themselves up, and delete their own account (the console).
  client {
    permissions {
      disabled_user_signup   = false
      disabled_user_deletion = false
    }
  }

  # Identity Platform allows 100 sign-ups per client address and hour. The
  # console signs people up server-side, so every sign-up comes from Cloud
  # Run's egress addresses: the console limits sign-ups per client itself, and
  # a launch raises this quota for a while (sign_up_quota, up to 1000).
  dynamic "quota" {
    for_each = var.identity.sign_up_quota > 0 ? [var.identity] : []

    content {
      sign_up_quota_config {
        quota          = quota.value.sign_up_quota
        start_time     = quota.value.sign_up_quota_start
        quota_duration = "${quota.value.sign_up_quota_hours * 3600}s"
      }
    }
  }

  monitoring {
    request_logging {
      enabled = true
    }
  }

  depends_on = [time_sleep.identity_api_propagation]
}

# --- Google sign-in (optional) ----------------------------------------------------
# Terraform cannot create the OAuth client: an operator makes it in the console,
# puts its secret in Secret Manager as <prefix>-google-sign-in, and sets
# identity.google_client_id (docs/deploy.md, "Google sign-in"). Unset: off.

data "google_secret_manager_secret_version" "google_sign_in" {
  count = local.google_sign_in ? 1 : 0

  project = var.project_id
  secret  = "${local.prefix}-google-sign-in"
}

resource "google_identity_platform_default_supported_idp_config" "google" {
  count = local.google_sign_in ? 1 : 0

  project       = var.project_id
  idp_id        = "google.com"
  client_id     = var.identity.google_client_id
  client_secret = data.google_secret_manager_secret_version.google_sign_in[0].secret_data
  enabled       = true

  depends_on = [google_identity_platform_config.this]
}

# --- the web API key, for the console ---------------------------------------------
# The Identity Toolkit REST API (sign-up, sign-in) needs the project's web API
# key. It is public by design (browsers send it), and already in the state as an
# attribute of the config; the console reads it from this secret
# (FIREBASE_WEB_API_KEY) like any other credential.

resource "google_secret_manager_secret" "web_api_key" {
  project   = var.project_id
  secret_id = "${local.prefix}-web-api-key"

  replication {
    auto {}
  }

  labels = {
    system      = var.name
    environment = var.environment
  }

  depends_on = [google_project_service.this]
}

resource "google_secret_manager_secret_version" "web_api_key" {
  secret      = google_secret_manager_secret.web_api_key.id
  secret_data = google_identity_platform_config.this.client[0].api_key
}

# Only the console signs people in.
resource "google_secret_manager_secret_iam_member" "web_api_key_accessor" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.web_api_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.web.member
}

# --- runtime identities -------------------------------------------------------------
# A function that checks writes verifies tokens (Google's public certificates:
# no role) and looks the account up so that revoked, disabled and deleted
# accounts are refused at once: read access to users, the least role that
# allows it. (Session cookies, created by the console, need more: web.tf.)
resource "google_project_iam_member" "function_account_reader" {
  for_each = { for k, v in local.function_specs : k => v if v.checks_writes }

  project = var.project_id
  role    = "roles/firebaseauth.viewer"
  member  = google_service_account.function[each.key].member
}
