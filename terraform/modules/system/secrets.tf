# API keys for write endpoints (comma-separated, read as API_KEYS).
#
# Terraform creates the secret container and its IAM only. The value is added
# by an operator with `gcloud secrets versions add` (docs/deploy.md), so no
# key ever lands in Terraform state, plan output or CI logs. Rotation = add a
# version holding old,new keys; functions read "latest" at instance start.

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
