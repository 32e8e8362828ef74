# dev: smallest sizes that still exercise everything (shared-nothing with
# prod: its own project, state prefix and buckets). Scales to zero.
module "system" {
  source = "../../modules/system"

  project_id                  = var.project_id
  environment                 = "dev"
  region                      = var.region
  build_service_account_email = var.build_service_account_email
  bundle_dir                  = var.bundle_dir
  model_version               = var.model_version
  cors_origins                = var.cors_origins
  log_level                   = "DEBUG"

  # 1 vCPU / 3.75 GiB: max_connections 100. Function sizing is the module
  # default (56 connections at full scale-out, budget 90).
  db_tier              = "db-custom-1-3840"
  db_availability_type = "ZONAL"

  enable_load_balancer = var.enable_load_balancer
  domain               = var.domain
}
