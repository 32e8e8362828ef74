# APIs the system uses. disable_on_destroy = false: destroying one
# environment must never switch an API off for everything else in the project.
locals {
  services = setunion(
    [
      "artifactregistry.googleapis.com", # function images built by Cloud Build
      "cloudbuild.googleapis.com",
      "cloudfunctions.googleapis.com",
      "eventarc.googleapis.com",
      "iam.googleapis.com",
      "identitytoolkit.googleapis.com", # Identity Platform: accounts and sign-in (identity.tf)
      "logging.googleapis.com",
      "cloudtrace.googleapis.com", # spans of the functions and jobs (shared/tracing.py)
      "monitoring.googleapis.com", # alert policies, uptime checks, dashboard (monitoring.tf)
      "pubsub.googleapis.com",     # transport of the Eventarc storage trigger
      "run.googleapis.com",
      "secretmanager.googleapis.com",
      "sqladmin.googleapis.com", # also used by the Cloud SQL connector at run time
      "storage.googleapis.com",
    ],
    # Only the load balancer needs Compute Engine (serverless NEGs, Cloud
    # Armor, the global address). Enabling it otherwise would create the
    # default compute service account for nothing.
    var.enable_load_balancer ? ["compute.googleapis.com"] : [],
  )
}

resource "google_project_service" "this" {
  for_each = local.services

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
