output "function_urls" {
  description = "run.app URL of each function (the event function's URL is internal-only)."
  value       = { for k, f in google_cloudfunctions2_function.this : k => f.service_config[0].uri }
}

output "load_balancer_ip" {
  description = "Address to point the domain's A record at (null without the load balancer)."
  value       = var.enable_load_balancer ? google_compute_global_address.lb[0].address : null
}

output "api_base_url" {
  description = "Single base URL through the load balancer (null without it)."
  value       = var.enable_load_balancer ? "https://${var.domain}" : null
}

output "models_bucket" {
  value = google_storage_bucket.models.name
}

output "uploads_bucket" {
  value = google_storage_bucket.uploads.name
}

output "sources_bucket" {
  value = google_storage_bucket.sources.name
}

output "model_uri" {
  description = "MODEL_URI the reviews functions run with."
  value       = local.model_uri
}

output "sql_connection_name" {
  description = "INSTANCE_CONNECTION_NAME for the connector (migrations, operators)."
  value       = google_sql_database_instance.main.connection_name
}

output "db_name" {
  value = google_sql_database.app.name
}

output "db_app_users" {
  description = "Comma-separated IAM database users of the functions: DB_APP_USERS for `python -m infra.migrate`."
  value       = join(",", [for k in sort(keys(local.db_iam_users)) : local.db_iam_users[k]])
}

output "db_build_user" {
  description = "IAM database user of the build service account (DB_IAM_USER for migrations)."
  value       = google_sql_user.build.name
}

output "service_account_emails" {
  description = "Runtime identity of each function, plus the trigger and builder identities."
  value = merge(
    { for k, sa in google_service_account.function : k => sa.email },
    {
      uploads-trigger  = google_service_account.uploads_trigger.email
      function-builder = google_service_account.function_builder.email
    },
  )
}

output "api_keys_secret" {
  description = "Secret Manager secret to add the API-key value to (gcloud secrets versions add)."
  value       = google_secret_manager_secret.api_keys.secret_id
}

output "db_connection_budget" {
  description = "Connections the functions and jobs may open at full scale-out vs. what the instance allows."
  value = {
    demand          = local.db_connection_demand
    budget          = local.db_connection_budget
    max_connections = local.db_max_connections
    per_function    = local.db_connections_per_function
    per_job         = local.db_connections_per_job
  }
}

output "model_version" {
  description = "Model version this configuration deploys (the pipeline publishes it before applying)."
  value       = var.model_version
}
