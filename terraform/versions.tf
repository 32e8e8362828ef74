# The one root configuration of every environment. Which environment a run
# works on is chosen on the command line, from terraform/environments/<env>/:
#
#   terraform -chdir=terraform init -backend-config=environments/<env>/backend.hcl
#   terraform -chdir=terraform plan -var-file=environments/<env>/settings.tfvars -out=tfplan
#
# (docs/deploy.md, section 3; cloudbuild.yaml does the same with _ENV).
terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  # The same pins as modules/system/versions.tf (tests/terraform check both).
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.46.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 7.46.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.14.0"
    }
  }

  # Bucket and prefix come from environments/<env>/backend.hcl: each
  # environment keeps its state in its own project's bucket.
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
