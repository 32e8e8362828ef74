# The one root configuration of every environment. Which environment a run
# works on is chosen on the command line, from terraform/environments/<env>/:
#
#   terraform -chdir=terraform init -backend-config=environments/<env>/backend.hcl
#   terraform -chdir=terraform plan -var-file=environments/<env>/settings.tfvars -out=tfplan
#
# (docs/deploy.md, section 3; cloudbuild.yaml does the same with _ENV).
terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  # The providers configured below. Their versions are pinned once, by the
  # module that uses them (modules/system/versions.tf); Terraform applies
  # that constraint to this configuration too.
  required_providers {
    google = {
      source = "hashicorp/google"
    }
    google-beta = {
      source = "hashicorp/google-beta"
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
