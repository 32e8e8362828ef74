# Every setting of this environment is given in settings.auto.tfvars
# (committed): a manual `terraform plan` and the pipeline read the same file,
# so there is one source of truth. Sizing lives in main.tf.

variable "project_id" {
  description = "Project of this environment."
  type        = string
}

variable "region" {
  description = "Region of everything (functions, Cloud SQL, buckets, trigger)."
  type        = string
  default     = "asia-northeast3"
}

variable "build_service_account_email" {
  description = "The deployer service account Cloud Build runs as (bootstrap, docs/deploy.md). null: kmr-deployer@<project_id>.iam.gserviceaccount.com."
  type        = string
  default     = null
}

variable "model_version" {
  description = "Published model version the reviews functions load; change it and apply to roll out or back."
  type        = string
}

variable "bundle_dir" {
  description = "Where `python -m infra.bundles` wrote the bundles, relative to this directory."
  type        = string
  default     = "../../../build/bundles"
}

variable "cors_origins" {
  description = "Browser origins allowed to call the API."
  type        = list(string)
  default     = []
}

variable "enable_load_balancer" {
  description = "External HTTPS load balancer + Cloud Armor in front of the HTTP functions."
  type        = bool
  default     = false
}

variable "domain" {
  description = "Domain for the load balancer's managed certificate."
  type        = string
  default     = ""
}

variable "public_invoker" {
  description = "allUsers may invoke the HTTP functions (false under Domain Restricted Sharing; see docs/deploy.md)."
  type        = bool
  default     = true
}

variable "invoker_members" {
  description = "Principals allowed to invoke the HTTP functions, e.g. [\"domain:example.com\"]."
  type        = list(string)
  default     = []
}

variable "api_keys_version" {
  description = "Secret Manager version of the API keys the functions mount (rotation: docs/deploy.md)."
  type        = string
  default     = "1"
}

variable "cursor_key_version" {
  description = "Secret Manager version of the cursor-signing key the functions mount (rotation: docs/deploy.md)."
  type        = string
  default     = "1"
}

variable "alert_emails" {
  description = "E-mail addresses that receive alert notifications (one channel each)."
  type        = list(string)
  default     = []
}

variable "alert_notification_channels" {
  description = "Existing Cloud Monitoring notification channel ids (projects/<p>/notificationChannels/<id>) that receive alerts too."
  type        = list(string)
  default     = []
}

# Tear-down only (docs/deploy.md, "Tear-down"): pass -var on the command line.
variable "deletion_protection" {
  description = "Protects the Cloud SQL instance from deletion. Set false only to destroy a scratch environment."
  type        = bool
  default     = true
}

variable "force_destroy_buckets" {
  description = "Let destroy delete non-empty buckets. Set true only to destroy a scratch environment."
  type        = bool
  default     = false
}
