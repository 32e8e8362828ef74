# API keys for write endpoints (comma-separated, read as API_KEYS).
#
# Terraform creates the secret container and its IAM only. The value is added
# by an operator with `gcloud secrets versions add` (docs/deploy.md), so no
# key ever lands in Terraform state, plan output or CI logs. The functions
# mount the version var.api_keys_version names, read at instance start
# (never "latest": a new latest would restart nothing). Rotation = add a
# version holding old,new keys and set api_keys_version to its number.

resource "google_secret_manager_secret" "api_keys" {
  project   = var.project_id
  secret_id = "${local.prefix}-api-keys"

  replication {
    # Google-managed encryption; see storage.tf for why there is no CMEK.
    auto {}
  }

  labels = {
    system      = var.name
    environment = var.environment
  }

  depends_on = [google_project_service.this]
}

# Only the functions that check writes may read the keys.
resource "google_secret_manager_secret_iam_member" "api_keys_accessor" {
  for_each = { for k, v in local.function_specs : k => v if v.checks_writes }

  project   = var.project_id
  secret_id = google_secret_manager_secret.api_keys.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function[each.key].member
}

# The key that signs list cursors (CURSOR_SECRET): every instance of every function must
# hold the same one, or a cursor from one instance is refused by the next (settings refuse
# to start a cloud instance without it). Added by an operator like the API keys
# (docs/deploy.md); a new version invalidates open cursors only.
resource "google_secret_manager_secret" "cursor_key" {
  project   = var.project_id
  secret_id = "${local.prefix}-cursor-key"

  replication {
    auto {}
  }

  labels = {
    system      = var.name
    environment = var.environment
  }

  depends_on = [google_project_service.this]
}

resource "google_secret_manager_secret_iam_member" "cursor_key_accessor" {
  for_each = local.function_specs

  project   = var.project_id
  secret_id = google_secret_manager_secret.cursor_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function[each.key].member
}
