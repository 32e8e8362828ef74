# Identities. One runtime service account per deployed function, one for the
# Eventarc trigger and one for Cloud Build's function image builds. Project
# level roles are limited to what cannot be scoped to a resource (Cloud SQL
# roles apply to the project's instances); everything else is granted on the
# bucket, secret or service it concerns.

resource "google_service_account" "function" {
  for_each = local.function_specs

  project      = var.project_id
  account_id   = "${local.prefix}-${each.value.sa_suffix}"
  display_name = "${local.prefix} ${each.key} function runtime"

  depends_on = [google_project_service.this]
}

# Eventarc delivers events as this identity; it may invoke only the event
# function (run.invoker on that one service, functions.tf).
resource "google_service_account" "uploads_trigger" {
  project      = var.project_id
  account_id   = "${local.prefix}-trg-uploads"
  display_name = "${local.prefix} Eventarc trigger for uploads"

  depends_on = [google_project_service.this]
}

# New projects no longer give the default compute service account Editor, so
# function builds run as a dedicated builder identity.
resource "google_service_account" "function_builder" {
  project      = var.project_id
  account_id   = "${local.prefix}-fn-builder"
  display_name = "${local.prefix} Cloud Build builder for function images"

  depends_on = [google_project_service.this]
}

# --- Cloud SQL access: connector (client) + IAM login (instanceUser) ---------

locals {
  sql_members = merge(
    { for k, sa in google_service_account.function : k => sa.member },
    { build = "serviceAccount:${var.build_service_account_email}" },
  )
  sql_roles = ["roles/cloudsql.client", "roles/cloudsql.instanceUser"]
  sql_grants = {
    for pair in setproduct(keys(local.sql_members), local.sql_roles) :
    "${pair[0]}/${pair[1]}" => { member = local.sql_members[pair[0]], role = pair[1] }
  }
}

resource "google_project_iam_member" "sql" {
  for_each = local.sql_grants

  project = var.project_id
  role    = each.value.role
  member  = each.value.member
}

# --- Logging -----------------------------------------------------------------

resource "google_project_iam_member" "function_log_writer" {
  for_each = google_service_account.function

  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = each.value.member
}

# --- Traces --------------------------------------------------------------------

# The functions and the jobs export their spans to Cloud Trace (TRACE_EXPORTER=cloud);
# roles/cloudtrace.agent can only be granted on the project.
resource "google_project_iam_member" "trace_agent" {
  for_each = merge(
    { for k, sa in google_service_account.function : k => sa.member },
    { for k, sa in google_service_account.job : "job-${k}" => sa.member },
  )

  project = var.project_id
  role    = "roles/cloudtrace.agent"
  member  = each.value
}

# --- Function image builds ---------------------------------------------------

# Cloud Run Builder is the role Google documents for a user-specified build
# service account of Cloud Run functions (it replaces the older trio of
# logging.logWriter, artifactregistry.writer and storage.objectAdmin used by
# the provider's cloudfunctions2_basic_builder example). It has to be granted
# on the project: Cloud Functions copies each source zip into its own
# gcf-v2-sources-<project-number>-<region> bucket, created on the first
# deploy, and the build reads it from there, so no grant on our sources
# bucket alone can make a build work.
resource "google_project_iam_member" "function_builder" {
  project = var.project_id
  role    = "roles/run.builder"
  member  = google_service_account.function_builder.member
}

# As in the provider's example: a fresh grant takes a while to reach the
# build, and the first build of a new environment fails without the wait.
resource "time_sleep" "builder_iam_propagation" {
  create_duration = "60s"

  depends_on = [google_project_iam_member.function_builder]
}

# --- Eventarc ----------------------------------------------------------------

resource "google_project_iam_member" "trigger_event_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.uploads_trigger.member
}

# Cloud Storage publishes object notifications to Pub/Sub as its own service
# agent; without pubsub.publisher the trigger is created but never fires.
data "google_storage_project_service_account" "gcs" {
  project = var.project_id

  depends_on = [google_project_service.this]
}

resource "google_project_iam_member" "gcs_pubsub_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

# The Eventarc service agent only exists after the API has been used once.
# Creating it explicitly and waiting lets IAM propagate before the first
# trigger is created ("Permission denied while using the Eventarc Service
# Agent" on a fresh project; terraform-provider-google #14584).
resource "google_project_service_identity" "eventarc" {
  provider = google-beta

  project = var.project_id
  service = "eventarc.googleapis.com"

  depends_on = [google_project_service.this]
}

resource "google_project_iam_member" "eventarc_service_agent" {
  # checkov:skip=CKV_GCP_49:Google-managed Eventarc service agent getting its own documented role (normally auto-granted; explicit here so the first apply does not race it).
  project = var.project_id
  role    = "roles/eventarc.serviceAgent"
  member  = "serviceAccount:${google_project_service_identity.eventarc.email}"
}

resource "time_sleep" "eventarc_iam_propagation" {
  create_duration = "90s"

  depends_on = [
    google_project_iam_member.eventarc_service_agent,
    google_project_iam_member.gcs_pubsub_publisher,
    google_project_iam_member.trigger_event_receiver,
  ]
}
