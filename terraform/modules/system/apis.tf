# APIs the system uses. disable_on_destroy = false: destroying one
# environment must never switch an API off for everything else in the project.
locals {
  services = toset([
    "artifactregistry.googleapis.com", # function images built by Cloud Build
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "compute.googleapis.com", # load balancer, serverless NEGs, Cloud Armor
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com", # transport of the Eventarc storage trigger
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "sqladmin.googleapis.com", # also used by the Cloud SQL connector at run time
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "this" {
  for_each = local.services

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
