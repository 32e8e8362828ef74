"""Static checks of terraform/: the properties that matter, read with python-hcl2.

No terraform binary or cloud account is needed. Expressions stay strings
("${...}"); plain values (defaults, module arguments, locals that are data)
are evaluated here, including the connection budget the plan enforces.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

from infra import bundles
from tests.support import REPO

TERRAFORM = REPO / "terraform"
MODULE = TERRAFORM / "modules" / "system"
ENVIRONMENTS = ("dev", "prod")
FUNCTIONS = ("movies", "reviews", "reviews-uploads", "ratings")
OPTIONS = SerializationOptions(
    with_comments=False,
    explicit_blocks=False,
    strip_string_quotes=True,  # "\"POSTGRES_16\"" -> "POSTGRES_16"
    preserve_heredocs=False,
)
PIN = re.compile(r"^(~>\s*\d+\.\d+(\.\d+)?|=?\s*\d+\.\d+\.\d+)$")


@dataclass
class Config:
    """The blocks of one Terraform directory, merged over its .tf files."""

    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        assert (rtype, name) in self.resources, f"missing resource {rtype}.{name}"
        return self.resources[(rtype, name)]

    def of_type(self, rtype: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for (t, name), body in self.resources.items():
            if t == rtype:
                yield name, body

    def default(self, name: str) -> Any:
        return self.variables[name].get("default")


def load(directory: Path) -> Config:
    config = Config()
    for path in sorted(directory.glob("*.tf")):
        with path.open(encoding="utf-8") as fh:
            doc = hcl2.load(fh, serialization_options=OPTIONS)
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    config.resources[(rtype, name)] = body
        for block in doc.get("data", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    config.data[(rtype, name)] = body
        for block in doc.get("variable", []):
            config.variables.update(block)
        for block in doc.get("locals", []):
            config.locals.update(block)
        for block in doc.get("output", []):
            config.outputs.update(block)
        for block in doc.get("module", []):
            config.modules.update(block)
        config.terraform.extend(doc.get("terraform", []))
    return config


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Nested blocks `name` of a body, static or `dynamic` (their content)."""
    found = list(body.get(name, []))
    for dyn in body.get("dynamic", []):
        if name in dyn:
            found.extend(dyn[name]["content"])
    return found


def dynamic(body: dict[str, Any], name: str) -> dict[str, Any]:
    for dyn in body.get("dynamic", []):
        if name in dyn:
            return dict(dyn[name])
    raise AssertionError(f"no dynamic {name} block")


@pytest.fixture(scope="module")
def module() -> Config:
    return load(MODULE)


@pytest.fixture(scope="module")
def root() -> Config:
    """terraform/*.tf: the one root configuration every environment plans."""
    return load(TERRAFORM)


def specs(module: Config) -> dict[str, dict[str, Any]]:
    value = module.locals["function_specs"]
    assert isinstance(value, dict)
    return value


# --- providers and layout ----------------------------------------------------


def required_providers(config: Config) -> dict[str, Any]:
    required: dict[str, Any] = {}
    for block in config.terraform:
        for providers in block.get("required_providers", []):
            required.update(providers)
    return required


def test_provider_versions_pinned(module: Config) -> None:
    assert any("required_version" in block for block in module.terraform)
    required = required_providers(module)
    assert {"google", "google-beta", "time"} <= set(required), required
    for name, spec in required.items():
        assert spec["source"] == f"hashicorp/{name}"
        assert PIN.match(spec["version"]), f"{name} {spec['version']!r} is not pinned"


def test_the_root_names_its_providers_and_leaves_the_pins_to_the_module(root: Config) -> None:
    """One owner per fact: Terraform applies the module's constraints to the root as well."""
    assert any("required_version" in block for block in root.terraform)
    required = required_providers(root)
    assert required == {
        "google": {"source": "hashicorp/google"},
        "google-beta": {"source": "hashicorp/google-beta"},
    }


def test_providers_in_use_are_declared(module: Config) -> None:
    declared = set(required_providers(module))
    used = {"google"}
    for (rtype, _), body in module.resources.items():
        used.add(body.get("provider", rtype.split("_", 1)[0]).replace("${", "").rstrip("}"))
    used.discard("terraform")  # terraform_data is built in, never a required provider
    assert used <= declared, used - declared


def test_one_root_configuration_with_an_empty_gcs_backend(root: Config) -> None:
    call = root.modules["system"]
    assert call["source"] == "./modules/system"
    assert call["environment"] == "${var.environment}"
    backends = [b for block in root.terraform for b in block.get("backend", [])]
    # the state location is the environment's backend.hcl, never the configuration's
    assert backends == [{"gcs": {}}], backends
    # every module output the pipeline and the guide read is re-exported
    assert set(root.outputs) >= {
        "function_urls",
        "models_bucket",
        "uploads_bucket",
        "sql_connection_name",
        "service_account_emails",
        "db_app_users",
        "jobs",
    }
    for name, output in root.outputs.items():
        assert output["value"] == f"${{module.system.{name}}}", name


def test_environments_are_only_settings_and_a_state_location() -> None:
    """No copies: an environment is two files, the configuration exists once."""
    folders = sorted(p.name for p in (TERRAFORM / "environments").iterdir())
    assert folders == sorted(ENVIRONMENTS)
    for env in ENVIRONMENTS:
        files = sorted(p.name for p in (TERRAFORM / "environments" / env).iterdir())
        assert files == ["backend.hcl", "settings.tfvars"], (env, files)
    assert not [p for p in TERRAFORM.rglob("*.tf") if "environments" in p.parts]


def backend_file(env: str) -> dict[str, Any]:
    with (TERRAFORM / "environments" / env / "backend.hcl").open(encoding="utf-8") as fh:
        data: dict[str, Any] = hcl2.load(fh, serialization_options=OPTIONS)
    return data


def test_each_environment_keeps_its_state_apart() -> None:
    backends = {env: backend_file(env) for env in ENVIRONMENTS}
    for env, backend in backends.items():
        assert set(backend) == {"bucket", "prefix"}, env
        # the bucket the bootstrap creates in the environment's own project
        assert backend["bucket"] == f"{settings_file(env)['project_id']}-tfstate", env
        assert backend["prefix"] == f"kmr/{env}"
    locations = {(b["bucket"], b["prefix"]) for b in backends.values()}
    assert len(locations) == len(ENVIRONMENTS)
    assert len({b["bucket"] for b in backends.values()}) == len(ENVIRONMENTS)


def test_apis_survive_destroy(module: Config) -> None:
    service = module.resource("google_project_service", "this")
    assert service["disable_on_destroy"] is False


def test_compute_api_only_with_the_load_balancer(module: Config) -> None:
    services = module.locals["services"]
    always = services.split("var.enable_load_balancer")[0]
    assert "compute.googleapis.com" not in always
    assert 'var.enable_load_balancer ? ["compute.googleapis.com"] : []' in services
    assert "monitoring.googleapis.com" in always


# --- environments: one source of truth for settings ------------------------------


def settings_file(env: str) -> dict[str, Any]:
    path = TERRAFORM / "environments" / env / "settings.tfvars"
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = hcl2.load(fh, serialization_options=OPTIONS)
    return data


def git_ignored(*paths: Path) -> set[Path]:
    result = subprocess.run(
        ["git", "check-ignore", *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return {Path(line) for line in result.stdout.splitlines()}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_settings_are_committed_and_complete(env: str, root: Config) -> None:
    values = settings_file(env)
    assert set(values) <= set(root.variables), set(values) - set(root.variables)
    required = {name for name, v in root.variables.items() if "default" not in v}
    assert required <= set(values), required - set(values)
    assert values["project_id"] == f"my-project-{env}"
    assert values["environment"] == env  # the folder is the environment
    folder = TERRAFORM / "environments" / env
    assert not git_ignored(folder / "settings.tfvars", folder / "backend.hcl")


def test_every_root_variable_reaches_the_module(root: Config, module: Config) -> None:
    call = root.modules["system"]
    for name, variable in root.variables.items():
        assert name in module.variables, f"{name} is not a module input"
        assert name in call, f"variable {name} is not passed to the module"
        assert f"var.{name}" in str(call[name]), f"{name} = {call[name]}"
        if "default" in variable and variable["default"] is None:
            # null means "the module's default", which needs a non-nullable module input
            inner = module.variables[name]
            if name != "build_service_account_email":  # coalesced in main.tf
                assert inner.get("nullable") is False and "default" in inner, name
    # the tear-down switches exist where the guide uses them, defaulting to safe
    assert {"deletion_protection", "force_destroy_buckets"} <= set(root.variables)
    assert module.default("deletion_protection") is True
    assert module.default("force_destroy_buckets") is False


def test_environments_set_the_same_settings_apart_from_sizing() -> None:
    sizing = {"functions", "jobs", "db_backup_retained_count"}
    assert set(settings_file("dev")) - sizing == set(settings_file("prod")) - sizing


def test_a_state_belongs_to_one_environment(root: Config) -> None:
    owner = root.resource("terraform_data", "state_owner")
    assert owner["triggers_replace"] == {
        "project_id": "${var.project_id}",
        "environment": "${var.environment}",
    }
    assert owner["lifecycle"] == [{"prevent_destroy": True}]


def test_checkov_skips_have_reasons() -> None:
    for path in TERRAFORM.rglob("*.tf"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip" in line:
                match = re.search(r"checkov:skip=(CKV2?_[A-Z]+_\d+):(.{20,})", line)
                assert match, f"{path}: skip without a reason: {line.strip()}"


# --- functions, identities, exposure ---------------------------------------------


def test_function_specs_cover_every_function(module: Config) -> None:
    assert set(specs(module)) == set(FUNCTIONS)
    assert set(module.default("functions")) == set(FUNCTIONS)
    # every bundle Terraform uploads is one infra.bundles builds (web: web.tf)
    assert {s["bundle"] for s in specs(module).values()} | {"web"} == set(bundles.FUNCTIONS)
    assert specs(module)["reviews-uploads"]["bundle"] == "reviews"
    assert specs(module)["reviews-uploads"]["entry_point"] == "on_upload"


def test_distinct_service_account_per_function(module: Config) -> None:
    suffixes = [s["sa_suffix"] for s in specs(module).values()]
    assert len(set(suffixes)) == len(FUNCTIONS)
    sa = module.resource("google_service_account", "function")
    assert sa["for_each"] == "${local.function_specs}"
    assert "${each.value.sa_suffix}" in sa["account_id"]
    fn = module.resource("google_cloudfunctions2_function", "this")
    assert fn["for_each"] == "${local.function_specs}"
    service = fn["service_config"][0]
    assert service["service_account_email"] == "${google_service_account.function[each.key].email}"
    # the trigger and the builder are separate identities too
    trigger = module.resource("google_service_account", "uploads_trigger")
    builder = module.resource("google_service_account", "function_builder")
    ids = {trigger["account_id"], builder["account_id"]}
    assert len(ids) == 2
    assert not any(s in i for s in suffixes for i in ids)


def test_functions_runtime_and_hash_named_source(module: Config) -> None:
    fn = module.resource("google_cloudfunctions2_function", "this")
    build = fn["build_config"][0]
    assert build["runtime"] == "python312"
    assert build["entry_point"] == "${each.value.entry_point}"
    obj = module.resource("google_storage_bucket_object", "bundle")
    # content-addressed name: a code change is a new object and a redeploy
    assert re.search(r"\$\{file(sha256|md5)\(", obj["name"]), obj["name"]
    assert build["source"][0]["storage_source"][0]["object"].startswith(
        "${google_storage_bucket_object.bundle["
    )


def test_public_invoker_only_on_http_functions(module: Config) -> None:
    s = specs(module)
    public = {k for k, v in s.items() if v["public"] and not v["event"]}
    assert public == {"movies", "reviews", "ratings"}
    assert not s["reviews-uploads"]["public"]

    anonymous = {"allUsers", "allAuthenticatedUsers"}
    holders = []
    for (rtype, name), body in module.resources.items():
        members = [body.get("member"), *(body.get("members") or [])]
        if any(m in anonymous for m in members if isinstance(m, str)):
            holders.append((rtype, name, body))
    assert [(t, n) for t, n, _ in holders] == [
        ("google_cloud_run_v2_service_iam_member", "public_invoker"),
        ("google_cloud_run_v2_service_iam_member", "web_public"),  # the site (web.tf)
    ], "only the public invoker bindings may name allUsers/allAuthenticatedUsers"
    assert holders[1][2]["count"] == "${var.public_invoker ? 1 : 0}"
    body = holders[0][2]
    # Domain Restricted Sharing refuses allUsers: public_invoker = false turns it off
    assert body["for_each"] == "${var.public_invoker ? local.public_functions : {}}"
    assert module.default("public_invoker") is True
    assert body["role"] == "roles/run.invoker"
    invokers = module.resource("google_cloud_run_v2_service_iam_member", "invokers")
    assert "keys(local.public_functions), var.invoker_members" in invokers["for_each"]
    assert module.locals["public_functions"] == (
        "${{for k, v in local.function_specs : k => v if v.public && !v.event}}"
    )


def test_public_functions_that_write_check_api_keys(module: Config) -> None:
    s = specs(module)
    # movies and reviews accept writes: they get the API keys; ratings is read-only
    assert s["movies"]["checks_writes"] and s["reviews"]["checks_writes"]
    fn = module.resource("google_cloudfunctions2_function", "this")
    secret = dynamic(fn["service_config"][0], "secret_environment_variables")
    assert secret["for_each"].startswith("${each.value.checks_writes ?")
    assert secret["content"][0]["key"] == "API_KEYS"
    accessor = module.resource("google_secret_manager_secret_iam_member", "api_keys_accessor")
    assert "v.checks_writes" in accessor["for_each"]
    # the keys never pass through Terraform state; the only secret Terraform writes is the
    # web API key, public by design and an attribute of the Identity Platform config anyway
    versions = dict(module.of_type("google_secret_manager_secret_version"))
    assert list(versions) == ["web_api_key"]
    api_key = "${google_identity_platform_config.this.client[0].api_key}"
    assert versions["web_api_key"]["secret_data"] == api_key


def test_event_function_is_internal_only(module: Config) -> None:
    fn = module.resource("google_cloudfunctions2_function", "this")
    ingress = fn["service_config"][0]["ingress_settings"]
    assert ingress.startswith('${each.value.event ? "ALLOW_INTERNAL_ONLY"')
    invoker = module.resource("google_cloud_run_v2_service_iam_member", "trigger_invoker")
    assert '["reviews-uploads"]' in invoker["name"]
    assert invoker["member"] == "${google_service_account.uploads_trigger.member}"


def test_storage_trigger_on_uploads_bucket_with_retries(module: Config) -> None:
    fn = module.resource("google_cloudfunctions2_function", "this")
    trigger = dynamic(fn, "event_trigger")
    assert trigger["for_each"] == "${each.value.event ? [google_storage_bucket.uploads.name] : []}"
    content = trigger["content"][0]
    assert content["event_type"] == "google.cloud.storage.object.v1.finalized"
    assert content["retry_policy"] == "RETRY_POLICY_RETRY"
    assert content["service_account_email"] == "${google_service_account.uploads_trigger.email}"
    assert content["trigger_region"] == "${lower(google_storage_bucket.uploads.location)}"
    assert content["event_filters"] == [{"attribute": "bucket", "value": "${event_trigger.value}"}]
    assert module.default("functions")["reviews-uploads"]["timeout_seconds"] <= 540


def test_eventarc_prerequisites(module: Config) -> None:
    identity = module.resource("google_project_service_identity", "eventarc")
    assert identity["service"] == "eventarc.googleapis.com"
    assert identity["provider"].strip("${}") == "google-beta"
    assert ("google_storage_project_service_account", "gcs") in module.data
    publisher = module.resource("google_project_iam_member", "gcs_pubsub_publisher")
    assert publisher["role"] == "roles/pubsub.publisher"
    receiver = module.resource("google_project_iam_member", "trigger_event_receiver")
    assert receiver["role"] == "roles/eventarc.eventReceiver"
    sleep = module.resource("time_sleep", "eventarc_iam_propagation")
    assert sleep["create_duration"]
    fn = module.resource("google_cloudfunctions2_function", "this")
    assert "${time_sleep.eventarc_iam_propagation}" in fn["depends_on"]


def test_least_privilege_bucket_and_secret_access(module: Config) -> None:
    s = specs(module)
    readers = module.resource("google_storage_bucket_iam_member", "models_reader")
    assert readers["bucket"] == "${google_storage_bucket.models.name}"
    assert readers["role"] == "roles/storage.objectViewer"
    assert "v.uses_model" in readers["for_each"]
    assert {k for k, v in s.items() if v["uses_model"]} == {"reviews", "reviews-uploads"}

    uploads = module.resource("google_storage_bucket_iam_member", "uploads_admin")
    assert uploads["bucket"] == "${google_storage_bucket.uploads.name}"
    assert uploads["member"] == '${google_service_account.function["reviews-uploads"].member}'

    assert {k for k, v in s.items() if v["checks_writes"]} == {"movies", "reviews"}

    # Project-wide roles of the function identities: Cloud SQL and log writing only
    # (storage and secrets are granted on the bucket / secret above).
    function_grants = {
        name: body
        for name, body in module.of_type("google_project_iam_member")
        if "google_service_account.function}" in body.get("for_each", "")
        or body.get("for_each") == "${local.sql_grants}"
    }
    assert set(function_grants) == {"sql", "function_log_writer"}
    assert function_grants["function_log_writer"]["role"] == "roles/logging.logWriter"
    assert module.locals["sql_roles"] == ["roles/cloudsql.client", "roles/cloudsql.instanceUser"]
    assert "google_service_account.function" in module.locals["sql_members"]


def test_buckets_private_and_uniform(module: Config) -> None:
    buckets = dict(module.of_type("google_storage_bucket"))
    assert set(buckets) == {"models", "uploads", "sources"}
    for name, body in buckets.items():
        assert body["uniform_bucket_level_access"] is True, name
        assert body["public_access_prevention"] == "enforced", name
    assert buckets["models"]["versioning"][0]["enabled"] is True
    prefixes = [
        p
        for rule in buckets["uploads"]["lifecycle_rule"]
        for cond in rule["condition"]
        for p in cond.get("matches_prefix", [])
    ]
    assert sorted(prefixes) == ["rejects/", "reports/"]


# --- Cloud SQL ---------------------------------------------------------------


def test_sql_instance_hardening(module: Config) -> None:
    sql = module.resource("google_sql_database_instance", "main")
    assert sql["database_version"] == "POSTGRES_16"
    assert sql["deletion_protection"] == "${var.deletion_protection}"
    assert module.default("deletion_protection") is True
    settings = sql["settings"][0]
    assert settings["deletion_protection_enabled"] == "${var.deletion_protection}"

    flags = {f["name"]: f["value"] for f in blocks(settings, "database_flags")}
    assert flags["cloudsql.iam_authentication"] == "on"
    for flag in ("log_checkpoints", "log_connections", "log_disconnections", "log_lock_waits"):
        assert flags[flag] == "on", flag
    assert flags["log_min_duration_statement"] == "-1"

    backup = settings["backup_configuration"][0]
    assert backup["enabled"] is True
    assert backup["point_in_time_recovery_enabled"] is True

    ip = settings["ip_configuration"][0]
    assert ip["ssl_mode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    assert "authorized_networks" not in ip


def test_iam_database_users(module: Config) -> None:
    users = module.resource("google_sql_user", "function")
    assert users["for_each"] == "${local.db_iam_users}"
    assert users["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"
    # PostgreSQL cannot drop a role holding grants: a destroy or rename must not fail on it
    assert users["deletion_policy"] == "ABANDON"
    assert ".gserviceaccount.com" in module.locals["db_iam_users"]
    assert "google_service_account.function" in module.locals["db_iam_users"]
    build = module.resource("google_sql_user", "build")
    assert build["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"
    assert build["name"] == "${local.build_db_user}"
    assert build["deletion_policy"] == "ABANDON"
    # migrations create tables in public and the pgaudit extension: no postgres login needed
    assert build["database_roles"] == ["cloudsqlsuperuser"]


def test_pgaudit_flags_come_with_the_extension_step(module: Config) -> None:
    sql = module.resource("google_sql_database_instance", "main")
    flags = {f["name"]: f["value"] for f in blocks(sql["settings"][0], "database_flags")}
    assert flags["cloudsql.enable_pgaudit"] == "on"
    migrate = (REPO / "infra" / "migrate.py").read_text(encoding="utf-8")
    assert "CREATE EXTENSION IF NOT EXISTS pgaudit" in migrate
    assert "current_setting('cloudsql.enable_pgaudit', true)" in migrate


def test_function_builder_has_the_documented_role_and_waits(module: Config) -> None:
    grant = module.resource("google_project_iam_member", "function_builder")
    assert grant["role"] == "roles/run.builder"
    assert grant["member"] == "${google_service_account.function_builder.member}"
    sleep = module.resource("time_sleep", "builder_iam_propagation")
    assert sleep["depends_on"] == ["${google_project_iam_member.function_builder}"]
    fn = module.resource("google_cloudfunctions2_function", "this")
    assert "${time_sleep.builder_iam_propagation}" in fn["depends_on"]


def test_api_keys_are_pinned_to_a_version(module: Config) -> None:
    fn = module.resource("google_cloudfunctions2_function", "this")
    secret = dynamic(fn["service_config"][0], "secret_environment_variables")
    assert secret["content"][0]["version"] == "${var.api_keys_version}"
    assert module.default("api_keys_version") == "1"


# --- connection budget ---------------------------------------------------------


def tier_max_connections(module: Config, tier: str) -> int:
    """Mirror of locals db_tier_memory_mib / db_tier_max_connections."""
    shared_core = module.locals["db_shared_core_memory_mib"]
    memory = shared_core.get(tier)
    if memory is None:
        parts = tier.split("-")
        memory = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 0
    table = module.locals["db_max_connections_by_memory"]
    return int(max(row["max_connections"] for row in table if memory >= row["min_mib"]))


def budget(module: Config, args: dict[str, Any] | None = None) -> tuple[int, int, dict[str, int]]:
    """(demand, budget, per function) for module defaults overridden by `args`."""
    args = args or {}

    def value(name: str) -> Any:
        given = args.get(name)
        if given is not None and not (isinstance(given, str) and given.startswith("${")):
            return given
        return module.default(name)

    functions = value("functions")
    per_function = {
        k: f["max_instances"] * (f["db_pool_size"] + f["db_max_overflow"])
        for k, f in functions.items()
    }
    per_function |= {
        f"job-{k}": j["max_executions"]
        * j["parallelism"]
        * (j["db_pool_size"] + j["db_max_overflow"])
        for k, j in value("jobs").items()
    }
    max_connections = value("db_max_connections") or tier_max_connections(module, value("db_tier"))
    return (
        sum(per_function.values()),
        max_connections - value("db_reserved_connections"),
        per_function,
    )


def test_budget_locals_are_what_this_test_evaluates(module: Config) -> None:
    loc = module.locals
    assert loc["db_connections_per_function"] == (
        "${{for k, f in var.functions : k => "
        "f.max_instances * (f.db_pool_size + f.db_max_overflow)}}"
    )
    assert loc["db_connections_per_job"] == (
        '${{for k, j in var.jobs : "job-${k}" => '
        "j.max_executions * j.parallelism * (j.db_pool_size + j.db_max_overflow)}}"
    )
    assert loc["db_connection_demand"] == (
        "${sum(concat(values(local.db_connections_per_function), "
        "values(local.db_connections_per_job)))}"
    )
    assert loc["db_connection_budget"] == (
        "${local.db_max_connections - var.db_reserved_connections}"
    )
    assert loc["db_max_connections"] == (
        "${coalesce(var.db_max_connections, local.db_tier_max_connections)}"
    )
    assert "local.db_max_connections_by_memory" in loc["db_tier_max_connections"]
    assert "local.db_shared_core_memory_mib" in loc["db_tier_memory_mib"]


def test_budget_precondition_fails_the_plan(module: Config) -> None:
    sql = module.resource("google_sql_database_instance", "main")
    preconditions = [p for lc in sql["lifecycle"] for p in lc.get("precondition", [])]
    assert any(
        p["condition"] == "${local.db_connection_demand <= local.db_connection_budget}"
        for p in preconditions
    ), preconditions
    # the flag, when overridden, is what the budget counts
    flags = dynamic(sql["settings"][0], "database_flags")
    assert flags["content"][0]["name"] == "max_connections"


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("db-f1-micro", 25),
        ("db-g1-small", 50),
        ("db-custom-1-3840", 100),
        ("db-custom-2-7680", 400),
        ("db-custom-4-15360", 500),
    ],
)
def test_tier_max_connections_table(module: Config, tier: str, expected: int) -> None:
    assert tier_max_connections(module, tier) == expected


def test_default_configuration_within_budget(module: Config) -> None:
    demand, available, per_function = budget(module)
    assert per_function == {
        "movies": 20,
        "reviews": 12,
        "reviews-uploads": 4,
        "ratings": 20,
        "job-rescore": 8,
        "job-uploads": 8,
    }
    assert demand == 72
    assert available == 90  # db-custom-1-3840: 100 - 10 reserved
    assert demand <= available


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_within_budget(module: Config, env: str) -> None:
    demand, available, per_function = budget(module, settings_file(env))
    assert demand <= available, f"{env}: {per_function} = {demand} > {available}"


def test_prod_sizing_is_what_its_settings_say(module: Config) -> None:
    demand, available, per_function = budget(module, settings_file("prod"))
    assert per_function["movies"] == 50 and per_function["reviews-uploads"] == 8
    assert (demand, available) == (148, 390)


def test_budget_catches_an_overcommitted_tier(module: Config) -> None:
    # the default functions and jobs on a micro instance: 72 connections > 25 - 10
    demand, available, _ = budget(module, {"db_tier": "db-f1-micro"})
    assert demand > available


# --- load balancer -------------------------------------------------------------


def test_load_balancer_routes_match_local_router(module: Config) -> None:
    assert module.default("enable_load_balancer") is False
    routes = module.locals["lb_routes"]
    stack = pytest.importorskip("infra.stack")
    local = {p: fn.name for fn in stack.FUNCTIONS for p in fn.prefixes}
    assert routes == local
    armor = module.resource("google_compute_security_policy", "api")
    actions = {rule["action"] for rule in armor["rule"]}
    assert "throttle" in actions


# --- the same budget, evaluated by terraform itself (when installed) -------------

HARNESS = """
resource "terraform_data" "budget" {
  lifecycle {
%s
  }
}

output "budget" {
  value = {
    demand = local.db_connection_demand
    budget = local.db_connection_budget
  }
}
"""


def _module_args(settings: dict[str, Any], module: Config) -> dict[str, Any]:
    """An environment's settings that are inputs of the module (all of them, as it happens)."""
    return {k: v for k, v in settings.items() if k in module.variables}


def terraform_binary() -> tuple[str, dict[str, str]]:
    """The terraform binary (or a skip) and an environment that needs no CLI config."""
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("no terraform binary on PATH")
    env = dict(os.environ, TF_IN_AUTOMATION="1", NO_COLOR="1", CHECKPOINT_DISABLE="1")
    if not Path(env.get("TF_CLI_CONFIG_FILE", "/nonexistent")).exists():
        env["TF_CLI_CONFIG_FILE"] = os.devnull
    return binary, env


@pytest.fixture(scope="module")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Run `terraform plan` on variables.tf + budget.tf + the SQL precondition, offline.

    Only the built-in terraform_data resource is used, so no provider is downloaded.
    """
    binary, env = terraform_binary()
    work = tmp_path_factory.mktemp("tf-budget")
    for name in ("variables.tf", "budget.tf"):
        shutil.copy(MODULE / name, work / name)
    sql = (MODULE / "sql.tf").read_text(encoding="utf-8")
    match = re.search(r"^    precondition \{\n.*?^    \}\n", sql, re.M | re.S)
    assert match, "no precondition block in sql.tf"
    (work / "harness.tf").write_text(HARNESS % match.group(0), encoding="utf-8")
    subprocess.run(
        [binary, "init", "-input=false", "-backend=false", "-no-color"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )

    def plan(variables: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        required = {
            "project_id": "p",
            "environment": "test",
            "build_service_account_email": "b@p.iam.gserviceaccount.com",
        }
        (work / "terraform.tfvars.json").write_text(json.dumps(required | variables))
        return subprocess.run(
            [binary, "plan", "-input=false", "-no-color", "-refresh=false"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    return plan


def test_terraform_accepts_default_budget(terraform: Any) -> None:
    result = terraform({})
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"budget\s*=\s*90", result.stdout)
    assert re.search(r"demand\s*=\s*72", result.stdout)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_terraform_accepts_environment_budget(terraform: Any, module: Config, env: str) -> None:
    args = _module_args(settings_file(env), module)
    for harness_given in ("environment", "project_id"):
        args.pop(harness_given, None)
    result = terraform(args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_terraform_plan_fails_over_budget(terraform: Any) -> None:
    result = terraform({"db_tier": "db-f1-micro"})
    assert result.returncode != 0
    assert "Resource precondition failed" in result.stderr
    assert "Connection budget exceeded" in result.stderr


def test_terraform_rejects_unknown_function_keys(terraform: Any, module: Config) -> None:
    functions = dict(module.default("functions"))
    functions["extra"] = functions["movies"]
    result = terraform({"functions": functions})
    assert result.returncode != 0
    assert "exactly the keys" in result.stderr


def test_function_env_names_are_settings_the_app_reads(module: Config) -> None:
    from shared.settings import Settings

    env_expr = module.locals["function_env"]
    names = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", env_expr))
    known = {name.upper() for name in Settings.model_fields}
    runtime = {"THREADS"}  # read by functions-framework's gunicorn, not by Settings
    assert names - runtime <= known, f"unknown settings: {names - runtime - known}"
    assert {
        "INSTANCE_CONNECTION_NAME",
        "DB_IAM_USER",
        "DB_NAME",
        "DB_POOL_SIZE",
        "DB_MAX_OVERFLOW",
        "CORS_ORIGINS",
        "LOG_LEVEL",
        "MODELS_BUCKET",
        "UPLOADS_BUCKET",
        "MODEL_URI",
        "MODEL_THREADS",
    } <= names
    assert "API_KEYS" in known  # mounted from Secret Manager, never a plain env var
    assert "API_KEYS" not in names


# --- one configuration, many states: the state's owner, checked by terraform itself ------

OWNER_HARNESS = """
variable "project_id" {
  type = string
}

variable "environment" {
  type = string
}
"""


def test_terraform_refuses_a_plan_of_one_environment_on_anothers_state(tmp_path: Path) -> None:
    """dev's state planned with prod's settings fails instead of replacing everything."""
    binary, env = terraform_binary()
    main = (TERRAFORM / "main.tf").read_text(encoding="utf-8")
    match = re.search(r'^resource "terraform_data" "state_owner" \{\n.*?^\}\n', main, re.M | re.S)
    assert match, "no terraform_data.state_owner in terraform/main.tf"
    (tmp_path / "main.tf").write_text(OWNER_HARNESS + match.group(0), encoding="utf-8")

    def run(*args: str, settings: str) -> subprocess.CompletedProcess[str]:
        values = {k: settings_file(settings)[k] for k in ("project_id", "environment")}
        (tmp_path / f"{settings}.tfvars.json").write_text(json.dumps(values))
        command = [binary, *args, "-input=false", "-no-color", f"-var-file={settings}.tfvars.json"]
        return subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120
        )

    subprocess.run(
        [binary, "init", "-input=false", "-no-color"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=True,
    )
    applied = run("apply", "-auto-approve", settings="dev")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = run("plan", "-detailed-exitcode", settings="dev")
    assert again.returncode == 0, again.stdout + again.stderr  # its own settings: no change
    wrong = run("plan", settings="prod")
    assert wrong.returncode != 0
    assert "prevent_destroy" in wrong.stderr, wrong.stderr
