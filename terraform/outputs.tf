# Everything the pipeline and operators need after an apply
# (`terraform output -raw <name>`).

output "function_urls" {
  value = module.system.function_urls
}

output "api_base_url" {
  value = module.system.api_base_url
}

output "web_url" {
  value = module.system.web_url
}

output "load_balancer_ip" {
  value = module.system.load_balancer_ip
}

output "models_bucket" {
  value = module.system.models_bucket
}

output "uploads_bucket" {
  value = module.system.uploads_bucket
}

output "model_uri" {
  value = module.system.model_uri
}

output "sql_connection_name" {
  value = module.system.sql_connection_name
}

output "db_name" {
  value = module.system.db_name
}

output "db_app_users" {
  value = module.system.db_app_users
}

output "db_build_user" {
  value = module.system.db_build_user
}

output "service_account_emails" {
  value = module.system.service_account_emails
}

output "api_keys_secret" {
  value = module.system.api_keys_secret
}

output "db_connection_budget" {
  value = module.system.db_connection_budget
}

output "model_version" {
  value = module.system.model_version
}

output "job_image" {
  value = module.system.job_image
}

output "jobs" {
  value = module.system.jobs
}
