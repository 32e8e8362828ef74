# Settings of the dev environment: everything in which it differs from the
# others, sizing included (the configuration itself is terraform/*.tf, one for
# every environment). Committed on purpose: a manual plan and the Cloud Build
# pipeline pass this same file (-var-file=environments/dev/settings.tfvars),
# so nothing is reset by whoever applies next. Edit, commit, push: the pipeline
# applies it. No secrets here (API keys live in Secret Manager). The pipeline
# refuses to run if project_id is not the build's project or environment is
# not this folder's name.
environment   = "dev"
project_id    = "my-project-dev"
region        = "asia-northeast3"
model_version = "nsmc-bilstm-v4-20261205" # folder under gs://<models>/sentiment/
cors_origins  = ["https://dev.example.com"]

# build_service_account_email = "kmr-deployer@my-project-dev.iam.gserviceaccount.com" # the default

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

# --- Sizing: the smallest that still exercises everything; scales to zero ----
log_level = "DEBUG"

# 1 vCPU / 3.75 GiB: max_connections 100, budget 90. Functions and jobs are
# the module's default sizes: at full scale-out 4x5 + 3x4 + 2x2 + 4x5 = 56
# connections for the functions and 1x4x2 + 1x4x2 = 16 for the two jobs' running
# tasks, 72 in all (docs/deploy.md, "The connection budget").
db_tier              = "db-custom-1-3840"
db_availability_type = "ZONAL"
