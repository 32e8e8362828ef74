# Settings of the prod environment: everything in which it differs from the
# others, sizing included (the configuration itself is terraform/*.tf, one for
# every environment). Committed on purpose: a manual plan and the Cloud Build
# pipeline pass this same file (-var-file=environments/prod/settings.tfvars),
# so nothing is reset by whoever applies next. Edit, commit, push: the pipeline
# applies it. No secrets here (API keys live in Secret Manager). The pipeline
# refuses to run if project_id is not the build's project or environment is
# not this folder's name.
environment   = "prod"
project_id    = "my-project-prod"
region        = "asia-northeast3"
model_version = "nsmc-bilstm-v4-20261205" # folder under gs://<models>/sentiment/
cors_origins  = ["https://prod.example.com"]

# build_service_account_email = "kmr-deployer@my-project-prod.iam.gserviceaccount.com" # the default

# API-key secret version the functions mount (rotation: docs/deploy.md).
api_keys_version = "1"

# Cursor-signing key version the functions mount (rotation: docs/deploy.md).
cursor_key_version = "1"

# Public access: false under Domain Restricted Sharing (docs/deploy.md).
public_invoker  = true
invoker_members = []

# Optional HTTPS load balancer + Cloud Armor (DNS A record -> load_balancer_ip).
enable_load_balancer = false
domain               = ""

# Who is told when an alert fires (docs/deploy.md, "Alerts and runbook").
alert_emails                = []
alert_notification_channels = []

# --- Sizing: regional (HA) database on a larger tier, more instances, and one
# warm instance of the scoring function so a cold model load never hits users.
log_level = "INFO"

# 2 vCPU / 7.5 GiB: max_connections 400, budget 390.
db_tier                  = "db-custom-2-7680"
db_availability_type     = "REGIONAL"
db_backup_retained_count = 14

# At full scale-out: 10x5 + 6x4 + 4x2 + 10x5 = 132 connections for the
# functions, plus 1x4x2 + 1x4x2 = 16 for the two jobs' running tasks (the
# module's default job sizes): 148 in all.
functions = {
  movies = {
    memory          = "512Mi"
    cpu             = "1"
    concurrency     = 16
    min_instances   = 0
    max_instances   = 10
    timeout_seconds = 60
    db_pool_size    = 5
    db_max_overflow = 0
  }
  reviews = {
    memory          = "1Gi"
    cpu             = "1"
    concurrency     = 4
    min_instances   = 1
    max_instances   = 6
    timeout_seconds = 60
    db_pool_size    = 4
    db_max_overflow = 0
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
    db_pool_size    = 5
    db_max_overflow = 0
  }
}
