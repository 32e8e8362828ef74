terraform {
  required_version = ">= 1.5.0, < 2.0.0"

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

  # State bucket is per project and created at bootstrap; pass it with
  # `terraform init -backend-config="bucket=<state-bucket>"`.
  backend "gcs" {
    prefix = "kmr/prod"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
