# Inputs of the whole system. Defaults are the dev-sized configuration; the
# environments override what differs (tier, instance counts, domain) in their
# settings (terraform/environments/<env>/settings.tfvars). The root passes an
# unset setting as null, so every input it passes through is nullable = false:
# null means the default below.

variable "project_id" {
  description = "Google Cloud project that hosts the environment."
  type        = string
}

variable "environment" {
  description = "Short environment name (dev, prod); part of every resource name."
  type        = string

  validation {
    # Service account ids are "<name>-<environment>-<role>" and at most 30 characters.
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.environment))
    error_message = "environment must be 2-8 lowercase letters/digits, starting with a letter."
  }
}

variable "name" {
  description = "System name prefix for resource names."
  type        = string
  default     = "kmr"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.name))
    error_message = "name must be 2-8 lowercase letters/digits, starting with a letter."
  }
}

variable "region" {
  description = "Region of the functions, the Cloud SQL instance and the buckets. The Eventarc trigger must be in the uploads bucket's location, so everything shares one region."
  type        = string
  nullable    = false
  default     = "asia-northeast3"
}

variable "bundle_dir" {
  description = "Directory holding <function>.zip bundles built by `python -m infra.bundles` (relative paths are relative to the root module, terraform/)."
  type        = string
  nullable    = false
  default     = "../build/bundles"
}

variable "build_service_account_email" {
  description = "Service account Cloud Build runs as (created at bootstrap, see docs/deploy.md). It runs migrations, so it gets an IAM database user and may publish model versions."
  type        = string
}

# --- Cloud SQL -------------------------------------------------------------

variable "db_tier" {
  description = "Cloud SQL machine tier (Enterprise edition): db-f1-micro, db-g1-small or db-custom-<vCPU>-<MiB>."
  type        = string
  nullable    = false
  default     = "db-custom-1-3840"

  validation {
    condition     = can(regex("^(db-f1-micro|db-g1-small|db-custom-[0-9]+-[0-9]+)$", var.db_tier))
    error_message = "db_tier must be db-f1-micro, db-g1-small or db-custom-<vCPU>-<MiB>; the connection budget derives max_connections from it."
  }
}

variable "db_max_connections" {
  description = "Explicit `max_connections` flag. null keeps the tier's default (derived from its memory in locals.tf), which is also what the connection budget uses."
  type        = number
  default     = null
}

variable "db_reserved_connections" {
  description = "Connections kept out of the functions' budget: Cloud SQL's own superuser slots, the migration runner and an operator's psql."
  type        = number
  default     = 10
}

variable "db_availability_type" {
  description = "ZONAL (dev) or REGIONAL (prod, automatic failover)."
  type        = string
  nullable    = false
  default     = "ZONAL"

  validation {
    condition     = contains(["ZONAL", "REGIONAL"], var.db_availability_type)
    error_message = "db_availability_type must be ZONAL or REGIONAL."
  }
}

variable "db_name" {
  description = "Application database name."
  type        = string
  default     = "app"
}

variable "db_backup_retained_count" {
  description = "Number of automated daily backups kept."
  type        = number
  nullable    = false
  default     = 7
}

variable "db_log_retention_days" {
  description = "Days of write-ahead log kept for point-in-time recovery (1-7 on Enterprise edition)."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Protects the Cloud SQL instance from `terraform destroy` and from the API. Only ever turn off to tear down a scratch environment."
  type        = bool
  nullable    = false
  default     = true
}

# --- Functions ---------------------------------------------------------------

variable "functions" {
  description = <<-EOT
    Sizing of each deployed function. Keys are fixed: movies, reviews,
    reviews-uploads, ratings. db_pool_size + db_max_overflow is the most
    connections one instance opens, so the sum over functions of
    max_instances x (db_pool_size + db_max_overflow), plus what the jobs'
    running tasks hold (var.jobs), must fit the instance's max_connections
    minus db_reserved_connections (budget.tf, checked at plan time).
    Keep db_max_overflow at 0: SQLAlchemy closes an overflow connection when
    it returns to a full pool, so under steady load every request past the
    pool would open a new one (connector TLS, IAM login, a new backend).
  EOT
  type = map(object({
    memory          = string
    cpu             = string
    concurrency     = number
    min_instances   = number
    max_instances   = number
    timeout_seconds = number
    db_pool_size    = number
    db_max_overflow = number
  }))
  nullable = false
  default = {
    # CRUD on movies: I/O bound, many concurrent requests share a small pool.
    movies = {
      memory          = "512Mi"
      cpu             = "1"
      concurrency     = 16
      min_instances   = 0
      max_instances   = 4
      timeout_seconds = 60
      db_pool_size    = 5
      db_max_overflow = 0
    }
    # Create-and-score: ONNX inference is CPU bound on one vCPU, so few
    # concurrent requests per instance; the model needs ~1 GiB.
    reviews = {
      memory          = "1Gi"
      cpu             = "1"
      concurrency     = 4
      min_instances   = 0
      max_instances   = 3
      timeout_seconds = 60
      db_pool_size    = 4
      db_max_overflow = 0
    }
    # Bulk file scoring: one file per instance at a time, long timeout
    # (540 s is the event-driven maximum), more memory for batches.
    reviews-uploads = {
      memory          = "2Gi"
      cpu             = "1"
      concurrency     = 1
      min_instances   = 0
      max_instances   = 2
      timeout_seconds = 540
      db_pool_size    = 2
      db_max_overflow = 0
    }
    # Reads of maintained aggregates: cheap queries, high concurrency.
    ratings = {
      memory          = "512Mi"
      cpu             = "1"
      concurrency     = 16
      min_instances   = 0
      max_instances   = 4
      timeout_seconds = 30
      db_pool_size    = 5
      db_max_overflow = 0
    }
  }

  validation {
    condition = (
      length(setsubtract(keys(var.functions), ["movies", "reviews", "reviews-uploads", "ratings"])) == 0 &&
      length(setsubtract(["movies", "reviews", "reviews-uploads", "ratings"], keys(var.functions))) == 0
    )
    error_message = "functions must have exactly the keys movies, reviews, reviews-uploads, ratings."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : f.min_instances <= f.max_instances && f.max_instances >= 1])
    error_message = "Each function needs 1 <= max_instances and min_instances <= max_instances."
  }

  validation {
    # Cloud Run only allows concurrency > 1 with at least one full vCPU.
    condition     = alltrue([for f in values(var.functions) : f.concurrency == 1 || tonumber(f.cpu) >= 1])
    error_message = "concurrency > 1 needs cpu >= 1."
  }

  validation {
    condition     = var.functions["reviews-uploads"].timeout_seconds <= 540
    error_message = "Event-driven functions time out at 540 s at most."
  }
}

# --- Cloud Run Jobs (jobs.tf) ---------------------------------------------------

variable "jobs" {
  description = <<-EOT
    Sizing of the two Cloud Run jobs. Keys are fixed: rescore (the model
    rollout backfill) and uploads (large uploads fanned out across tasks).
    task_count is the default number of tasks (an execution may override it:
    the upload handler picks one per file, never below parallelism);
    parallelism is how many run at once. Every running task holds one pool of
    db_pool_size + db_max_overflow connections, so a job counts
    max_executions x parallelism x (db_pool_size + db_max_overflow) against
    the connection budget; the upload handler starts no more than
    max_executions fan-outs at once (the rest are processed in the function).
    timeout_seconds is per task attempt; max_retries per task (0-10).
  EOT
  type = map(object({
    task_count      = number
    parallelism     = number
    max_executions  = number
    timeout_seconds = number
    max_retries     = number
    cpu             = string
    memory          = string
    db_pool_size    = number
    db_max_overflow = number
  }))
  nullable = false
  default = {
    # 4 tasks on 1 vCPU each rescore ~4 x 3,000 reviews/s; Cloud SQL's write
    # capacity, not the tasks, is the ceiling (README, "Measured figures").
    rescore = {
      task_count      = 4
      parallelism     = 4
      max_executions  = 1
      timeout_seconds = 3600
      max_retries     = 3
      cpu             = "1"
      memory          = "1Gi"
      db_pool_size    = 2 # one read + one commit connection
      db_max_overflow = 0
    }
    uploads = {
      task_count      = 4
      parallelism     = 4
      max_executions  = 1
      timeout_seconds = 3600
      max_retries     = 3
      cpu             = "1"
      memory          = "1Gi"
      db_pool_size    = 2 # the shard's lease + its commit
      db_max_overflow = 0
    }
  }

  validation {
    condition     = length(setsubtract(keys(var.jobs), ["rescore", "uploads"])) == 0 && length(setsubtract(["rescore", "uploads"], keys(var.jobs))) == 0
    error_message = "jobs must have exactly the keys rescore and uploads."
  }

  validation {
    condition = alltrue([for j in values(var.jobs) : (
      j.parallelism >= 1 && j.parallelism <= j.task_count && j.task_count <= 10000 &&
      j.max_executions >= 1 && j.max_retries >= 0 && j.max_retries <= 10 &&
      j.timeout_seconds >= 60 && j.timeout_seconds <= 604800 &&
      contains(["1", "2", "4", "6", "8"], j.cpu)
    )])
    error_message = "Each job needs 1 <= parallelism <= task_count <= 10000, max_executions >= 1, max_retries 0-10, timeout_seconds 60-604800 (7 days) and cpu 1, 2, 4, 6 or 8."
  }
}

variable "cors_origins" {
  description = "Browser origins allowed by CORS (passed as CORS_ORIGINS, comma-joined)."
  type        = list(string)
  nullable    = false
  default     = []
}

variable "trace_sample_ratio" {
  description = "TRACE_SAMPLE_RATIO of the functions and jobs: the share of new traces sent to Cloud Trace (a caller's sampled decision is kept). 0 turns tracing off (TRACE_EXPORTER=none)."
  type        = number
  nullable    = false
  default     = 0.1

  validation {
    condition     = var.trace_sample_ratio >= 0 && var.trace_sample_ratio <= 1
    error_message = "trace_sample_ratio must be between 0 and 1."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of every function."
  type        = string
  nullable    = false
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "public_invoker" {
  description = "Grant roles/run.invoker to allUsers on the HTTP functions (a public API: reads anonymous, writes need an API key). Organisations that enforce Domain Restricted Sharing refuse this binding: set false there, and list the callers in invoker_members (docs/deploy.md, \"Public access\")."
  type        = bool
  nullable    = false
  default     = true
}

variable "invoker_members" {
  description = "IAM principals that may invoke the HTTP functions in addition to (or, with public_invoker = false, instead of) allUsers, e.g. [\"domain:example.com\"]."
  type        = list(string)
  nullable    = false
  default     = []

  validation {
    condition     = alltrue([for m in var.invoker_members : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):.+", m))])
    error_message = "invoker_members entries are IAM principals such as group:api@example.com or domain:example.com."
  }
}

variable "api_keys_version" {
  description = "Version of the API-key secret the functions mount. Rotation: add a secret version, set this to its number and apply (a changed version makes a new revision, so every instance reads it)."
  type        = string
  nullable    = false
  default     = "1"

  validation {
    condition     = can(regex("^[1-9][0-9]*$", var.api_keys_version))
    error_message = "api_keys_version is a secret version number (1, 2, ...); \"latest\" is not allowed because a changed latest does not restart anything."
  }
}

variable "cursor_key_version" {
  description = "Version of the cursor-signing secret the functions mount (CURSOR_SECRET). Rotation: add a secret version, set this to its number and apply; cursors handed out before stop working, nothing else changes."
  type        = string
  nullable    = false
  default     = "1"

  validation {
    condition     = can(regex("^[1-9][0-9]*$", var.cursor_key_version))
    error_message = "cursor_key_version is a secret version number (1, 2, ...); every instance must hold the same key, so \"latest\" is not allowed."
  }
}

# --- Model -------------------------------------------------------------------

variable "model_version" {
  description = "Published sentiment model version (folder under gs://<models-bucket>/sentiment/). Changing it and applying rolls the model out; setting the previous value rolls it back."
  type        = string
  nullable    = false
  default     = "nsmc-bilstm-v4-20261205"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.model_version))
    error_message = "model_version must be a plain folder name (letters, digits, '.', '_', '-')."
  }
}

variable "model_threads" {
  description = "CPUs the model may use (MODEL_THREADS): a batch's sub-batches run this many side by side; match the function's vCPUs."
  type        = number
  default     = 1
}

# --- Buckets -----------------------------------------------------------------

variable "upload_reports_retention_days" {
  description = "Days after which reports/ and rejects/ objects in the uploads bucket are deleted."
  type        = number
  default     = 30
}

variable "noncurrent_object_retention_days" {
  description = "Days a replaced (noncurrent) object version is kept in versioned buckets."
  type        = number
  default     = 30
}

variable "force_destroy_buckets" {
  description = "Allow `terraform destroy` to delete non-empty buckets (scratch environments only)."
  type        = bool
  nullable    = false
  default     = false
}

# --- Optional HTTPS load balancer ---------------------------------------------

variable "enable_load_balancer" {
  description = "Put an external HTTPS load balancer with Cloud Armor in front of the HTTP functions. When on, the functions only accept traffic from the load balancer."
  type        = bool
  nullable    = false
  default     = false
}

variable "domain" {
  description = "Domain of the managed certificate (required when enable_load_balancer is true)."
  type        = string
  nullable    = false
  default     = ""
}

variable "identity" {
  description = "Accounts (identity.tf): authorized_domains beyond domain (e.g. the console's run.app host without the load balancer); a temporary sign_up_quota (sign-ups per client address and hour, 1..1000; 0: Identity Platform's 100) from sign_up_quota_start (RFC 3339) for sign_up_quota_hours; google_client_id of the OAuth client for Google sign-in (\"\": off; its secret lives in Secret Manager, docs/deploy.md); write_rate_limit, the API's writes per account and instance."
  type = object({
    authorized_domains  = optional(list(string), [])
    sign_up_quota       = optional(number, 0)
    sign_up_quota_start = optional(string, "")
    sign_up_quota_hours = optional(number, 0)
    google_client_id    = optional(string, "")
    write_rate_limit    = optional(string, "60/minute")
  })
  nullable = false
  default  = {}

  validation {
    condition = var.identity.sign_up_quota == 0 || (
      var.identity.sign_up_quota >= 1 && var.identity.sign_up_quota <= 1000
      && can(timeadd(var.identity.sign_up_quota_start, "0s")) && var.identity.sign_up_quota_hours >= 1
    )
    error_message = "identity.sign_up_quota is 0 (off) or 1..1000 with a sign_up_quota_start (RFC 3339) and sign_up_quota_hours >= 1."
  }

  validation {
    condition     = can(regex("^[1-9][0-9]{0,6}/(second|minute|hour|day)$", var.identity.write_rate_limit))
    error_message = "identity.write_rate_limit looks like 60/minute (second, minute, hour or day)."
  }
}

variable "rate_limit_requests_per_minute" {
  description = "Cloud Armor per-client-IP request budget per minute before 429s."
  type        = number
  default     = 600
}

# --- Monitoring (monitoring.tf) ------------------------------------------------

variable "alert_emails" {
  description = "E-mail addresses that receive alert notifications (a channel is created for each)."
  type        = list(string)
  nullable    = false
  default     = []
}

variable "alert_notification_channels" {
  description = "Existing notification channel ids (projects/<project>/notificationChannels/<id>: Slack, PagerDuty, SMS...) that receive alerts too."
  type        = list(string)
  nullable    = false
  default     = []
}

variable "alert_thresholds" {
  description = "When the alert policies fire (docs/deploy.md, \"Alerts and runbook\"): 5xx share of requests, share of an upload's lines rejected, p99 latency of the HTTP functions (ms), Cloud SQL CPU utilisation and connections as a share of max_connections."
  type = object({
    error_ratio     = optional(number, 0.05)
    rejected_ratio  = optional(number, 0.2)
    p99_latency_ms  = optional(number, 2000)
    sql_cpu         = optional(number, 0.8)
    sql_connections = optional(number, 0.8)
  })
  default = {}
}
