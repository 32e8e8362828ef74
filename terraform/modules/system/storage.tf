# Buckets. All use uniform bucket-level access (IAM only, no object ACLs) and
# enforced public access prevention: nothing here is ever served publicly.
#
# Encryption: Google-managed keys. A CMEK would add a KMS key ring, rotation
# and an outage mode (key disabled = functions down) for data that is either
# public-domain (model), derived (reports) or redeployable (sources).
#
# Access logs: legacy usage logs are not used; Cloud Audit Logs record admin
# activity, and Data Access logs can be turned on at the organisation level.

resource "google_storage_bucket" "models" {
  # checkov:skip=CKV_GCP_62:Audit Logs instead of legacy usage-log buckets (see header comment).
  project                     = var.project_id
  name                        = "${var.project_id}-${var.environment}-models"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets

  # Published versions are never rewritten by our tools: model.publish
  # refuses an existing version (if_generation_match=0) and the functions can
  # only read. The deployer (project-wide storage.admin, needed to create
  # buckets) could still delete one; versioning keeps a deleted or replaced
  # object for noncurrent_object_retention_days, which is the recovery path.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_object_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket" "uploads" {
  # checkov:skip=CKV_GCP_62:Audit Logs instead of legacy usage-log buckets (see header comment).
  project                     = var.project_id
  name                        = "${var.project_id}-${var.environment}-uploads"
  location                    = var.region # the Eventarc trigger must be in this location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets

  # An overwrite is a new generation and a new event; keeping the previous
  # generation lets an operator re-ingest or audit what was replaced.
  versioning {
    enabled = true
  }

  # The handler writes a report and a rejects file per upload; they are
  # diagnostics, not records (the database is), so they expire.
  lifecycle_rule {
    condition {
      age            = var.upload_reports_retention_days
      matches_prefix = ["reports/", "rejects/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_object_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket" "sources" {
  # checkov:skip=CKV_GCP_62:Audit Logs instead of legacy usage-log buckets (see header comment).
  project                     = var.project_id
  name                        = "${var.project_id}-${var.environment}-fn-sources"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets

  # Objects are content-addressed (name = hash), so a version is never
  # replaced; versioning only guards against accidental deletes. Terraform
  # deletes a superseded bundle itself (a new hash replaces the object), and
  # a rollback re-applies an old commit, which uploads its bundles again.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_object_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.this]
}

# --- Bucket-level grants (never project-wide storage roles) ------------------

# Both reviews functions load the model; nothing else reads it.
resource "google_storage_bucket_iam_member" "models_reader" {
  for_each = { for k, v in local.function_specs : k => v if v.uses_model }

  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.function[each.key].member
}

# Only the upload handler reads uploads and writes reports/rejects back (an
# overwrite of a report on retry needs delete, hence objectAdmin; with uniform
# access there are no object ACLs for it to change).
resource "google_storage_bucket_iam_member" "uploads_admin" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.function["reviews-uploads"].member
}

# What publishing a model needs on this bucket: create and read. The
# deployer's project-wide storage.admin (bootstrap) covers this too, so it is
# not what protects published versions (see the models bucket above); the
# binding documents the need and keeps working if the deployer is narrowed.
resource "google_storage_bucket_iam_member" "build_publishes_models" {
  for_each = toset(["roles/storage.objectCreator", "roles/storage.objectViewer"])

  bucket = google_storage_bucket.models.name
  role   = each.value
  member = "serviceAccount:${var.build_service_account_email}"
}

# --- Function source bundles -------------------------------------------------

# Named by content hash: a code change is a new object name, which changes
# build_config.source and makes Terraform redeploy that function; an
# unchanged bundle is a no-op.
resource "google_storage_bucket_object" "bundle" {
  for_each = local.bundles

  bucket       = google_storage_bucket.sources.name
  name         = "${each.value}/${filesha256("${local.bundle_dir}/${each.value}.zip")}.zip"
  source       = "${local.bundle_dir}/${each.value}.zip"
  content_type = "application/zip"
}
