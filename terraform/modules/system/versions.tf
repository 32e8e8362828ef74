# The provider pins of every environment: the root configuration (terraform/)
# names the providers it configures without versions, so these constraints
# are the ones `terraform init` resolves, there and inside this module (tests,
# IDEs) alike.
terraform {
  # `check` blocks and precondition messages need >= 1.5; the Cloud Build
  # image is pinned to 1.11.4 (cloudbuild.yaml).
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.46.0"
    }
    # Only for google_project_service_identity (the Eventarc service agent).
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 7.46.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.14.0"
    }
  }
}
