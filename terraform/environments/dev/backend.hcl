# Where the dev environment keeps its Terraform state: the versioned bucket
# the bootstrap creates in its own project (docs/deploy.md, section 2) and a
# prefix of its own. Passed with
#   terraform -chdir=terraform init -backend-config=environments/dev/backend.hcl
bucket = "my-project-dev-tfstate"
prefix = "kmr/dev"
