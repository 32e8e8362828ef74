# Settings of the dev environment. Committed on purpose: a manual plan and
# the Cloud Build pipeline read this same file (Terraform loads *.auto.tfvars
# automatically), so nothing is reset by whoever applies next. Edit, commit,
# push: the pipeline applies it. No secrets here (API keys live in Secret
# Manager). The pipeline refuses to run if project_id is not the build's project.
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
