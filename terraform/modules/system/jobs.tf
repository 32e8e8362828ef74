# Cloud Run Jobs for bulk work that outgrows one function instance:
#
#   rescore  a model rollout's backfill: python -m shared.rescore, one shard
#            of the reviews per task (docs/deploy.md, "Roll out a model")
#   uploads  one large upload fanned out over byte-range shards:
#            python -m shared.uploads.shard_task, started by the upload function
#            with overrides (object, generation, task count)
#
# Both run the job image: the reviews bundle (the same files and pinned
# requirements the reviews functions deploy) on python:3.12-slim, built and
# pushed by Cloud Build before apply (cloudbuild.yaml, infra/job_image.py).
# Its tag is the sha256 of the bundle, so a code change is a new tag and a new
# job revision, and an unchanged bundle is a no-op, exactly like the functions'
# hash-named source objects.

locals {
  # Created once per project at bootstrap (docs/deploy.md): the image must
  # exist before the first apply creates the jobs that run it.
  jobs_repository = "${var.name}-jobs"
  job_image       = "${var.region}-docker.pkg.dev/${var.project_id}/${local.jobs_repository}/jobs:${filesha256("${local.bundle_dir}/reviews.zip")}"

  job_specs = {
    rescore = {
      module    = "shared.rescore"
      sa_suffix = "job-rescore"
    }
    uploads = {
      module    = "shared.uploads.shard_task"
      sa_suffix = "job-uploads"
    }
  }

  job_env = {
    for k, spec in local.job_specs : k => {
      INSTANCE_CONNECTION_NAME = google_sql_database_instance.main.connection_name
      DB_IAM_USER              = local.db_iam_users["job-${k}"]
      DB_NAME                  = google_sql_database.app.name
      DB_POOL_SIZE             = tostring(var.jobs[k].db_pool_size)
      DB_MAX_OVERFLOW          = tostring(var.jobs[k].db_max_overflow)
      LOG_LEVEL                = var.log_level
      TRACE_EXPORTER           = local.trace_exporter
      TRACE_SAMPLE_RATIO       = tostring(var.trace_sample_ratio)
      GOOGLE_CLOUD_PROJECT     = var.project_id
      MODELS_BUCKET            = google_storage_bucket.models.name
      UPLOADS_BUCKET           = google_storage_bucket.uploads.name
      # the deployed model; a rescoring execution overrides it with the target
      MODEL_URI     = local.model_uri
      MODEL_THREADS = var.jobs[k].cpu
    }
  }
}

resource "google_service_account" "job" {
  for_each = local.job_specs

  project      = var.project_id
  account_id   = "${local.prefix}-${each.value.sa_suffix}"
  display_name = "${local.prefix} ${each.key} job runtime"

  depends_on = [google_project_service.this]
}

resource "google_cloud_run_v2_job" "this" {
  for_each = local.job_specs

  project  = var.project_id
  location = var.region
  name     = "${local.prefix}-${each.key}"
  # true (the provider's default) makes every replacement fail until it is
  # flipped in state; the job holds no data, its executions' results do.
  deletion_protection = false

  template {
    task_count  = var.jobs[each.key].task_count
    parallelism = var.jobs[each.key].parallelism

    template {
      service_account = google_service_account.job[each.key].email
      timeout         = "${var.jobs[each.key].timeout_seconds}s"
      max_retries     = var.jobs[each.key].max_retries

      containers {
        image = local.job_image
        # the image's entrypoint is `python -m`
        args = [each.value.module]

        dynamic "env" {
          for_each = local.job_env[each.key]
          content {
            name  = env.key
            value = env.value
          }
        }

        resources {
          limits = {
            cpu    = var.jobs[each.key].cpu
            memory = var.jobs[each.key].memory
          }
        }
      }
    }
  }

  labels = {
    system      = var.name
    environment = var.environment
    job         = each.key
  }

  depends_on = [
    google_project_iam_member.job_sql,
    google_storage_bucket_iam_member.job_models_reader,
    google_storage_bucket_iam_member.rescore_summaries,
    google_storage_bucket_iam_member.job_uploads,
  ]
}

# --- what the jobs may touch ----------------------------------------------------

# Cloud SQL through the connector as an IAM database user (table grants come
# from the migration step, DB_APP_USERS includes these users).
resource "google_project_iam_member" "job_sql" {
  for_each = {
    for pair in setproduct(keys(local.job_specs), ["roles/cloudsql.client", "roles/cloudsql.instanceUser"]) :
    "${pair[0]}/${pair[1]}" => { job = pair[0], role = pair[1] }
  }

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.job[each.value.job].member
}

# Both load the model.
resource "google_storage_bucket_iam_member" "job_models_reader" {
  for_each = local.job_specs

  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.job[each.key].member
}

# The rescoring job writes its execution summaries under rescores/ and
# nothing else: it can never create or replace a model version. Summaries are
# written once (if_generation_match=0), so create is enough.
resource "google_storage_bucket_iam_member" "rescore_summaries" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.job["rescore"].member

  condition {
    title       = "rescore-summaries-only"
    description = "Execution summaries of the rescoring job"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.models.name}/objects/rescores/\")"
  }
}

# The upload job reads the uploaded objects and writes reports and rejects
# (a report rewritten by a retry needs delete, hence objectAdmin, as for the
# upload function).
resource "google_storage_bucket_iam_member" "job_uploads" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.job["uploads"].member
}

# The upload function starts executions of the upload job, with overrides
# (object, generation, task count), and of that job only. run.invoker would
# not do: it lacks run.jobs.runWithOverrides.
resource "google_cloud_run_v2_job_iam_member" "uploads_dispatch" {
  project  = google_cloud_run_v2_job.this["uploads"].project
  location = google_cloud_run_v2_job.this["uploads"].location
  name     = google_cloud_run_v2_job.this["uploads"].name
  role     = "roles/run.jobsExecutorWithOverrides"
  member   = google_service_account.function["reviews-uploads"].member
}

output "job_image" {
  description = "Image the jobs run: Cloud Build pushes exactly this tag before apply (infra/job_image.py)."
  value       = local.job_image
}

output "jobs" {
  description = "Resource name of each Cloud Run job (python -m infra.rollout rescore --job ...)."
  value       = { for k, job in google_cloud_run_v2_job.this : k => job.id }
}
