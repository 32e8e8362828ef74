# prod: regional (HA) database on a larger tier, more instances, one warm
# instance of the scoring function so a cold model load never hits users.
module "system" {
  source = "../../modules/system"

  project_id                  = var.project_id
  environment                 = "prod"
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
  log_level                   = "INFO"

  # 2 vCPU / 7.5 GiB: max_connections 400, budget 390.
  db_tier                  = "db-custom-2-7680"
  db_availability_type     = "REGIONAL"
  db_backup_retained_count = 14

  # At full scale-out: 10x5 + 6x4 + 4x2 + 10x5 = 132 connections.
  functions = {
    movies = {
      memory          = "512Mi"
      cpu             = "1"
      concurrency     = 16
      min_instances   = 0
      max_instances   = 10
      timeout_seconds = 60
      db_pool_size    = 3
      db_max_overflow = 2
    }
    reviews = {
      memory          = "1Gi"
      cpu             = "1"
      concurrency     = 4
      min_instances   = 1
      max_instances   = 6
      timeout_seconds = 60
      db_pool_size    = 3
      db_max_overflow = 1
    }
    reviews-uploads = {
      memory          = "2Gi"
      cpu             = "1"
      concurrency     = 1
      min_instances   = 0
      max_instances   = 4
      timeout_seconds = 540
      db_pool_size    = 2
      db_max_overflow = 0
    }
    ratings = {
      memory          = "512Mi"
      cpu             = "1"
      concurrency     = 16
      min_instances   = 0
      max_instances   = 10
      timeout_seconds = 30
      db_pool_size    = 3
      db_max_overflow = 2
    }
  }
}
