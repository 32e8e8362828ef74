# dev: smallest sizes that still exercise everything (shared-nothing with
# prod: its own project, state prefix and buckets). Scales to zero.
module "system" {
  source = "../../modules/system"

  project_id                  = var.project_id
  environment                 = "dev"
  region                      = var.region
  build_service_account_email = coalesce(var.build_service_account_email, "kmr-deployer@${var.project_id}.iam.gserviceaccount.com")
  bundle_dir                  = var.bundle_dir
  model_version               = var.model_version
  cors_origins                = var.cors_origins
  api_keys_version            = var.api_keys_version
  cursor_key_version          = var.cursor_key_version
  public_invoker              = var.public_invoker
  invoker_members             = var.invoker_members
  enable_load_balancer        = var.enable_load_balancer
  domain                      = var.domain
  alert_emails                = var.alert_emails
  alert_notification_channels = var.alert_notification_channels
  deletion_protection         = var.deletion_protection
  force_destroy_buckets       = var.force_destroy_buckets
  log_level                   = "DEBUG"

  # 1 vCPU / 3.75 GiB: max_connections 100. Function sizing is the module
  # default (56 connections at full scale-out, budget 90).
  db_tier              = "db-custom-1-3840"
  db_availability_type = "ZONAL"
}
