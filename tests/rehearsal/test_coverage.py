"""What the rehearsal covers: every process terraform/ and cloudbuild.yaml define, and the
operator's commands of docs/deploy.md. A function, job or Python step without an entry here
fails, and so does an entry for something the cloud no longer runs."""

from __future__ import annotations

import functools
import importlib
from typing import Any

import pytest

from infra import cloudenv
from infra.cloudenv import CloudProcess
from shared.settings import Settings

ENVIRONMENTS = ("dev", "prod")

# process -> the test that rehearses it (module.function under tests/rehearsal)
COVERED = {
    "function movies": (
        "test_functions.test_movies_writes_with_its_key_and_signs_cursors_with_its_cursor_key"
    ),
    "function reviews": ("test_functions.test_reviews_scores_with_the_published_model"),
    "function reviews-uploads": (
        "test_functions.test_upload_handler_scores_a_file_in_the_uploads_bucket"
    ),
    "function ratings": ("test_functions.test_ratings_reads_the_aggregate_the_write_moved"),
    "function web": ("test_functions.test_web_renders_pages_from_the_functions_urls"),
    "job rescore": ("test_jobs.test_operator_rollout_runs_the_rescore_job_and_prints_its_summary"),
    "job uploads": ("test_jobs.test_upload_job_processes_a_fanned_out_object"),
    "step gate": ("test_pipeline.test_gate_lets_a_triggered_build_of_its_branch_apply"),
    "step package": ("test_pipeline.test_package_builds_the_bundles_the_functions_run"),
    "step job-image-context": (
        "test_pipeline.test_job_image_context_is_the_image_the_plan_deploys"
    ),
    "step before-apply": ("test_pipeline.test_before_apply_on_a_deployed_environment_is_a_no_op"),
    "step after-apply": ("test_pipeline.test_after_apply_publishes_the_model_migrates_and_grants"),
    "operator grant": ("test_pipeline.test_operator_grant_runs_through_the_connector"),
    "operator rollout": (
        "test_jobs.test_operator_rollout_runs_the_rescore_job_and_prints_its_summary"
    ),
    "operator verify": ("test_jobs.test_operator_aggregates_verify_finds_no_drift"),
    "operator users": ("test_accounts.test_operator_makes_the_first_admin"),
}
# variables the cloud sets that a runtime reads rather than our settings
READ_BY_THE_RUNTIME = {"THREADS": "functions-framework: gunicorn threads per instance"}


@functools.cache
def cloud_processes(env: str) -> list[CloudProcess]:
    return cloudenv.processes(env, {"_ENV": env})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_process_the_cloud_runs_is_rehearsed(env: str) -> None:
    defined = {process.name for process in cloud_processes(env)}
    rehearsed = {name for name in COVERED if not name.startswith("operator ")}
    assert defined - rehearsed == set(), "add these to the rehearsal"
    assert rehearsed - defined == set(), "the cloud no longer runs these"


def test_every_entry_names_a_rehearsal_test(capsys: pytest.CaptureFixture[str]) -> None:
    for name, test in COVERED.items():
        module, function = test.split(".")
        found = getattr(importlib.import_module(f"tests.rehearsal.{module}"), function, None)
        assert callable(found), f"{name}: no test {test}"
    with capsys.disabled():  # the list, in `make test` output
        print("\nrehearsed: " + ", ".join(COVERED))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_variable_the_cloud_sets_is_a_setting_or_read_by_the_runtime(env: str) -> None:
    known = {name.upper() for name in Settings.model_fields} | set(READ_BY_THE_RUNTIME)
    for process in cloud_processes(env):
        if process.kind == "step":  # Cloud Build's options.env is for Terraform
            continue
        unknown = (set(process.env) | set(process.secrets)) - known
        assert not unknown, f"{process.name}: nothing reads {sorted(unknown)}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_process_environment_is_valid_settings(env: str) -> None:
    for process in cloud_processes(env):
        if process.kind == "step":
            continue
        values: dict[str, Any] = {name.lower(): "x" * 32 for name in process.secrets}
        values |= {name.lower(): value for name, value in process.env.items()}
        values.pop("threads", None)
        Settings(_env_file=None, **{"database_url": None, **values})


def test_secrets_the_processes_mount_are_secrets_terraform_creates() -> None:
    module = cloudenv.system("dev")
    created = {
        s.attr("secret_id")
        for s in cloudenv.instances(module, "google_secret_manager_secret").values()
    }
    mounted = {ref.secret for process in cloud_processes("dev") for ref in process.secrets.values()}
    assert mounted <= created
