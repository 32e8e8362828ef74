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
  description = "Service account Cloud Build runs as (bootstrap, docs/deploy.md)."
  type        = string
}

variable "model_version" {
  description = "Published model version the reviews functions load; change and apply to roll out or back."
  type        = string
  default     = "nsmc-bilstm-v2-20261123"
}

variable "bundle_dir" {
  description = "Where `python -m infra.package` wrote the bundles, relative to this directory."
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
