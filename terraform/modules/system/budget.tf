# Connection budget. Derived from variables only, so the tests can evaluate
# this file on its own with the terraform binary (tests/terraform).
#
# Every instance of a function owns one SQLAlchemy pool of at most
# db_pool_size + db_max_overflow connections, so at full scale-out the
# functions hold sum(max_instances x (pool + overflow)) connections, and the
# jobs' running tasks sum(max_executions x parallelism x (pool + overflow)). That
# must fit under the instance's max_connections minus what is reserved for
# Cloud SQL itself, migrations and operators; otherwise a traffic spike turns
# into "remaining connection slots are reserved" errors instead of queuing.
# The check is a precondition on the SQL instance (sql.tf): the plan fails.

locals {
  # Shared-core tiers have a fixed memory size; custom tiers carry it in the name.
  db_shared_core_memory_mib = {
    "db-f1-micro" = 614
    "db-g1-small" = 1741
  }
  db_tier_memory_mib = lookup(local.db_shared_core_memory_mib, var.db_tier, try(tonumber(split("-", var.db_tier)[3]), 0))

  # Cloud SQL for PostgreSQL's default max_connections by instance memory
  # (https://cloud.google.com/sql/docs/postgres/flags#postgres-m, "max_connections").
  db_max_connections_by_memory = [
    { min_mib = 0, max_connections = 25 },
    { min_mib = 1700, max_connections = 50 },
    { min_mib = 3840, max_connections = 100 },
    { min_mib = 6144, max_connections = 200 },
    { min_mib = 7680, max_connections = 400 },
    { min_mib = 15360, max_connections = 500 },
    { min_mib = 30720, max_connections = 600 },
    { min_mib = 61440, max_connections = 800 },
    { min_mib = 122880, max_connections = 1000 },
  ]
  db_tier_max_connections = max([for row in local.db_max_connections_by_memory : row.max_connections if local.db_tier_memory_mib >= row.min_mib]...)
  db_max_connections      = coalesce(var.db_max_connections, local.db_tier_max_connections)

  db_connections_per_function = {
    for k, f in var.functions : k => f.max_instances * (f.db_pool_size + f.db_max_overflow)
  }
  # Cloud Run job tasks hold pools too: every running task of every running
  # execution (jobs.tf).
  db_connections_per_job = {
    for k, j in var.jobs : "job-${k}" => j.max_executions * j.parallelism * (j.db_pool_size + j.db_max_overflow)
  }
  db_connection_demand = sum(concat(values(local.db_connections_per_function), values(local.db_connections_per_job)))
  db_connection_budget = local.db_max_connections - var.db_reserved_connections
}
