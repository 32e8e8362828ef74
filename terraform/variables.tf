# The settings an environment gives in environments/<env>/settings.tfvars
# (committed: a manual plan and the pipeline read the same file). Each is
# passed straight to modules/system, whose variables.tf owns its type,
# validation, description and default: null here means "the module's
# default" (those module variables are nullable = false).

variable "project_id" {
  description = "Project of this environment; the pipeline refuses any other (infra/ci_gate.py)."
  type        = string
}

variable "environment" {
  description = "Short environment name (dev, prod): part of every resource name, and the folder under environments/."
  type        = string
}

variable "region" {
  description = "Region of everything; also the providers' default region."
  type        = string
}

variable "build_service_account_email" {
  description = "The deployer Cloud Build runs as (docs/deploy.md, bootstrap). null: kmr-deployer@<project_id>.iam.gserviceaccount.com."
  type        = string
  default     = null
}

# --- passed to modules/system as they are (null: the module's default) ---------

variable "model_version" {
  type    = string
  default = null
}

variable "bundle_dir" {
  type    = string
  default = null
}

variable "cors_origins" {
  type    = list(string)
  default = null
}

variable "log_level" {
  type    = string
  default = null
}

variable "trace_sample_ratio" {
  type    = number
  default = null
}

variable "public_invoker" {
  type    = bool
  default = null
}

variable "invoker_members" {
  type    = list(string)
  default = null
}

variable "api_keys_version" {
  type    = string
  default = null
}

variable "cursor_key_version" {
  type    = string
  default = null
}

variable "enable_load_balancer" {
  type    = bool
  default = null
}

variable "domain" {
  type    = string
  default = null
}

variable "alert_emails" {
  type    = list(string)
  default = null
}

variable "alert_notification_channels" {
  type    = list(string)
  default = null
}

variable "db_tier" {
  type    = string
  default = null
}

variable "db_availability_type" {
  type    = string
  default = null
}

variable "db_backup_retained_count" {
  type    = number
  default = null
}

# Accounts: authorized domains, sign-up quota, Google sign-in, write limit.
variable "identity" {
  type    = any
  default = null
}

# Sizing maps: typed (and validated) by the module.
variable "functions" {
  type    = any
  default = null
}

variable "jobs" {
  type    = any
  default = null
}

# Tear-down only (docs/deploy.md, "Tear-down"): -var on the command line.
variable "deletion_protection" {
  type    = bool
  default = null
}

variable "force_destroy_buckets" {
  type    = bool
  default = null
}
