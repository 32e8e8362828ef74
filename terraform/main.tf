# Every environment is this configuration with its own settings
# (environments/<env>/settings.tfvars) and its own state
# (environments/<env>/backend.hcl): sizes, tier and log level included, so
# dev and prod differ only in those two files.
module "system" {
  source = "./modules/system"

  project_id                  = var.project_id
  environment                 = var.environment
  region                      = var.region
  build_service_account_email = coalesce(var.build_service_account_email, "kmr-deployer@${var.project_id}.iam.gserviceaccount.com")
  bundle_dir                  = var.bundle_dir
  model_version               = var.model_version
  cors_origins                = var.cors_origins
  log_level                   = var.log_level
  trace_sample_ratio          = var.trace_sample_ratio
  api_keys_version            = var.api_keys_version
  cursor_key_version          = var.cursor_key_version
  public_invoker              = var.public_invoker
  invoker_members             = var.invoker_members
  enable_load_balancer        = var.enable_load_balancer
  domain                      = var.domain
  alert_emails                = var.alert_emails
  alert_notification_channels = var.alert_notification_channels
  identity                    = var.identity
  db_tier                     = var.db_tier
  db_availability_type        = var.db_availability_type
  db_backup_retained_count    = var.db_backup_retained_count
  functions                   = var.functions
  jobs                        = var.jobs
  deletion_protection         = var.deletion_protection
  force_destroy_buckets       = var.force_destroy_buckets
}

# Whose state this is. The backend and the settings are picked separately on
# the command line, so nothing else stops a plan that reads one environment's
# state with another's settings, which would replace every resource in it.
# A change of project or environment would replace this record, and
# prevent_destroy turns that into a failed plan. (Tear-down removes it from
# the state first: docs/deploy.md, "Tear-down".)
resource "terraform_data" "state_owner" {
  triggers_replace = {
    project_id  = var.project_id
    environment = var.environment
  }

  lifecycle {
    prevent_destroy = true
  }
}
