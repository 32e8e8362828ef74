# Used by infra/check_iac.sh: scan the module with the optional load balancer
# switched on (the environments leave it off, so checkov would not see it).
project_id                  = "checkov-project"
environment                 = "ci"
build_service_account_email = "deployer@checkov-project.iam.gserviceaccount.com"
enable_load_balancer        = true
domain                      = "api.example.com"
