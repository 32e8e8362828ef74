# Cloud SQL for PostgreSQL 16.
#
# Connectivity: public IP with no authorised networks, reached only through
# the Cloud SQL Python Connector. The connector authenticates with IAM
# (cloudsql.client) and opens an mTLS tunnel with an ephemeral client
# certificate, which is exactly what ssl_mode TRUSTED_CLIENT_CERTIFICATE_REQUIRED
# demands; a direct connection without the connector's certificate is refused.
# Private IP would add a VPC, Private Service Access peering and Direct VPC
# egress (or a connector) on every function, for no extra protection of the
# data path in this design. Revisit if an organisation policy forbids public
# IPs on Cloud SQL (constraints/sql.restrictPublicIp).

resource "google_sql_database_instance" "main" {
  # checkov:skip=CKV_GCP_79:PostgreSQL 16 is the version the application is built and tested against (DESIGN.md); a major upgrade is a planned, tested change, not a lint fix.
  # checkov:skip=CKV_GCP_60:Public IP without authorised networks; only the Cloud SQL connector (IAM + mTLS client certs) can connect. See the header comment.
  project             = var.project_id
  name                = "${local.prefix}-pg"
  region              = var.region
  database_version    = "POSTGRES_16"
  deletion_protection = var.deletion_protection # Terraform-side guard

  settings {
    # PostgreSQL 16 defaults to Enterprise Plus, which has no db-custom tiers.
    edition                     = "ENTERPRISE"
    tier                        = var.db_tier
    availability_type           = var.db_availability_type
    disk_type                   = "PD_SSD"
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection # API-side guard (console, gcloud)

    ip_configuration {
      ipv4_enabled = true
      ssl_mode     = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
      # No authorized_networks: nothing connects by IP allow-list.
    }

    backup_configuration {
      enabled                        = true
      start_time                     = "18:00" # UTC; 03:00 in Seoul
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = var.db_log_retention_days

      backup_retention_settings {
        retained_backups = var.db_backup_retained_count
        retention_unit   = "COUNT"
      }
    }

    maintenance_window {
      day          = 7 # Sunday
      hour         = 19
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = true
      record_client_address   = false
    }

    # IAM database authentication: the functions and the migration runner log
    # in as their service accounts; there are no database passwords.
    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }

    # Logging flags (CIS PostgreSQL benchmark, as checked by checkov).
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      # -1 = do not log statement texts by duration (they carry review text).
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      # Duration of each completed statement, without its text (the text
      # stays off via log_min_duration_statement = -1). One line per
      # statement: watch log volume and exclude it in a log sink if costly.
      name  = "log_duration"
      value = "on"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    # pgAudit: the flag loads the library; the migration step then runs
    # CREATE EXTENSION pgaudit (infra/migrate.py, as cloudsqlsuperuser), and
    # only from then on are DDL and role changes written to the audit log.
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "pgaudit.log"
      value = "ddl,role"
    }

    # Only set when overridden; otherwise the tier default applies and the
    # connection budget below uses that default.
    dynamic "database_flags" {
      for_each = var.db_max_connections == null ? [] : [var.db_max_connections]
      content {
        name  = "max_connections"
        value = tostring(database_flags.value)
      }
    }

    user_labels = {
      system      = var.name
      environment = var.environment
    }
  }

  lifecycle {
    precondition {
      condition     = local.db_connection_demand <= local.db_connection_budget
      error_message = "Connection budget exceeded: functions and jobs may open ${local.db_connection_demand} connections (${jsonencode(merge(local.db_connections_per_function, local.db_connections_per_job))}: each function max_instances x (db_pool_size + db_max_overflow), each job max_executions x parallelism x (db_pool_size + db_max_overflow)) but ${var.db_tier} allows ${local.db_max_connections} minus ${var.db_reserved_connections} reserved = ${local.db_connection_budget}. Lower max_instances, parallelism or pool sizes, or pick a larger tier."
    }
  }

  depends_on = [google_project_service.this]
}

resource "google_sql_database" "app" {
  project  = var.project_id
  name     = var.db_name
  instance = google_sql_database_instance.main.name
}

# One IAM database user per function service account. They own nothing:
# table privileges are granted by the migration step (DB_APP_USERS).
# ABANDON: PostgreSQL refuses to drop a role that still holds privileges
# ("role ... cannot be dropped because some objects depend on it"), so a
# destroy, or renaming a function, would fail half-way; the role is left in
# the database instead (and goes with the instance on a full tear-down).
resource "google_sql_user" "function" {
  for_each = local.db_iam_users

  project         = var.project_id
  instance        = google_sql_database_instance.main.name
  name            = each.value
  type            = "CLOUD_IAM_SERVICE_ACCOUNT"
  deletion_policy = "ABANDON"
}

# The build service account runs migrations, so it owns the tables. It is a
# member of cloudsqlsuperuser (Cloud SQL's admin role, assigned through the
# Admin API): that lets it create tables in the public schema on
# PostgreSQL 15+ (owned by the database owner) and create the pgaudit
# extension, so no one ever logs in as "postgres". ABANDON: PostgreSQL cannot
# drop a role that owns objects, and the data must outlive a Terraform
# refactor of this resource.
resource "google_sql_user" "build" {
  project         = var.project_id
  instance        = google_sql_database_instance.main.name
  name            = local.build_db_user
  type            = "CLOUD_IAM_SERVICE_ACCOUNT"
  database_roles  = ["cloudsqlsuperuser"]
  deletion_policy = "ABANDON"
}
