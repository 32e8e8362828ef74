"""Static checks of terraform/modules/system/jobs.tf: the Cloud Run jobs and their rights."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import pytest

from infra import bundles
from tests.terraform.test_terraform import MODULE, Config, blocks, load

JOBS = ("rescore", "uploads")


@pytest.fixture(scope="module")
def module() -> Config:
    return load(MODULE)


def job_members(module: Config) -> dict[tuple[str, str], dict[str, Any]]:
    """Every IAM grant whose member is a job identity, by (resource type, name)."""
    return {
        (rtype, name): body
        for (rtype, name), body in module.resources.items()
        if rtype.endswith("_iam_member") and "google_service_account.job[" in str(body["member"])
    }


def test_two_jobs_run_the_image_the_plan_names(module: Config) -> None:
    specs = module.locals["job_specs"]
    assert set(specs) == set(JOBS) == set(module.default("jobs"))
    job = module.resource("google_cloud_run_v2_job", "this")
    assert job["for_each"] == "${local.job_specs}"
    assert job["deletion_protection"] is False
    (container,) = job["template"][0]["template"][0]["containers"]
    assert container["image"] == "${local.job_image}"
    assert container["args"] == ["${each.value.module}"]
    image = module.locals["job_image"]
    assert image.endswith(':${filesha256("${local.bundle_dir}/reviews.zip")}')
    assert "${local.jobs_repository}" in image and "docker.pkg.dev" in image
    assert module.outputs["job_image"]["value"] == "${local.job_image}"
    # the image is the reviews bundle, which carries the jobs' modules
    for spec in specs.values():
        assert importlib.util.find_spec(spec["module"]) is not None
        assert f"{spec['module']}.__main__" in bundles.EXTRA_MODULES["reviews"] or (
            spec["module"] in bundles.EXTRA_MODULES["reviews"]
        )


def test_sizing_comes_from_the_jobs_variable(module: Config) -> None:
    job = module.resource("google_cloud_run_v2_job", "this")
    template = job["template"][0]
    assert template["task_count"] == "${var.jobs[each.key].task_count}"
    assert template["parallelism"] == "${var.jobs[each.key].parallelism}"
    task = template["template"][0]
    assert task["timeout"] == "${var.jobs[each.key].timeout_seconds}s"
    assert task["max_retries"] == "${var.jobs[each.key].max_retries}"
    for name, sizing in module.default("jobs").items():
        assert 1 <= sizing["parallelism"] <= sizing["task_count"], name
        assert sizing["db_pool_size"] + sizing["db_max_overflow"] == 2, name


def test_each_job_runs_as_its_own_identity(module: Config) -> None:
    accounts = module.resource("google_service_account", "job")
    assert accounts["for_each"] == "${local.job_specs}"
    task = module.resource("google_cloud_run_v2_job", "this")["template"][0]["template"][0]
    assert task["service_account"] == "${google_service_account.job[each.key].email}"
    suffixes = [spec["sa_suffix"] for spec in module.locals["job_specs"].values()]
    functions = [spec["sa_suffix"] for spec in module.locals["function_specs"].values()]
    assert len(set(suffixes)) == len(suffixes) and not set(suffixes) & set(functions)
    # they log in to Cloud SQL as IAM users of their own, granted by the migration step
    assert "google_service_account.job" in module.locals["db_iam_users"]
    env = module.locals["job_env"]
    assert 'DB_IAM_USER = local.db_iam_users["job-${k}"]' in env


def test_jobs_hold_only_cloud_sql_and_bucket_roles(module: Config) -> None:
    grants = job_members(module)
    assert set(grants) == {
        ("google_project_iam_member", "job_sql"),
        ("google_storage_bucket_iam_member", "job_models_reader"),
        ("google_storage_bucket_iam_member", "rescore_summaries"),
        ("google_storage_bucket_iam_member", "job_uploads"),
    }
    sql = grants[("google_project_iam_member", "job_sql")]
    assert '"roles/cloudsql.client", "roles/cloudsql.instanceUser"' in sql["for_each"]

    readers = grants[("google_storage_bucket_iam_member", "job_models_reader")]
    assert readers["bucket"] == "${google_storage_bucket.models.name}"
    assert readers["role"] == "roles/storage.objectViewer"

    summaries = grants[("google_storage_bucket_iam_member", "rescore_summaries")]
    assert summaries["member"] == '${google_service_account.job["rescore"].member}'
    assert summaries["role"] == "roles/storage.objectCreator"  # create, never delete/replace
    (condition,) = summaries["condition"]
    assert "/objects/rescores/" in condition["expression"]

    uploads = grants[("google_storage_bucket_iam_member", "job_uploads")]
    assert uploads["member"] == '${google_service_account.job["uploads"].member}'
    assert uploads["bucket"] == "${google_storage_bucket.uploads.name}"


def test_the_upload_function_may_run_the_upload_job_with_overrides_and_nothing_else(
    module: Config,
) -> None:
    grant = module.resource("google_cloud_run_v2_job_iam_member", "uploads_dispatch")
    assert grant["role"] == "roles/run.jobsExecutorWithOverrides"
    assert grant["name"] == '${google_cloud_run_v2_job.this["uploads"].name}'
    assert grant["member"] == '${google_service_account.function["reviews-uploads"].member}'
    # no other grant names a run role, and no job-level grant exists for rescore
    run_roles = [
        name
        for (rtype, name), body in module.resources.items()
        if rtype.endswith("_iam_member") and str(body.get("role", "")).startswith("roles/run.job")
    ]
    assert run_roles == ["uploads_dispatch"]
    env = module.locals["function_env"]
    assert 'spec.event ? {UPLOAD_JOB = google_cloud_run_v2_job.this["uploads"].id' in env


def test_job_env_names_are_settings_the_app_reads(module: Config) -> None:
    from shared.settings import Settings

    names = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", module.locals["job_env"]))
    assert names <= {name.upper() for name in Settings.model_fields}
    assert {"INSTANCE_CONNECTION_NAME", "DB_IAM_USER", "MODEL_URI", "MODELS_BUCKET"} <= names


def test_jobs_count_against_the_connection_budget(module: Config) -> None:
    assert "local.db_connections_per_job" in module.locals["db_connection_demand"]
    per_job = module.locals["db_connections_per_job"]
    for factor in ("j.max_executions", "j.parallelism", "j.db_pool_size + j.db_max_overflow"):
        assert factor in per_job


def test_jobs_variable_is_validated(module: Config) -> None:
    conditions = " ".join(
        str(v["condition"]) for v in blocks(module.variables["jobs"], "validation")
    )
    assert "j.parallelism <= j.task_count" in conditions
    assert "j.max_retries <= 10" in conditions
    assert '["rescore", "uploads"]' in conditions
