# Where the prod environment keeps its Terraform state: the versioned bucket
# the bootstrap creates in its own project (docs/deploy.md, section 2) and a
# prefix of its own. Passed with
#   terraform -chdir=terraform init -backend-config=environments/prod/backend.hcl
bucket = "my-project-prod-tfstate"
prefix = "kmr/prod"
