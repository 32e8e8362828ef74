"""The pipeline's Python steps (cloudbuild.yaml) and the operator's grant, as they run in the
cloud: with the build's environment, against a fresh database, through the connector."""

from __future__ import annotations

import json

import pg8000.native

from tests.support.rehearsal import Cloud, Ran


def test_gate_lets_a_triggered_build_of_its_branch_apply(
    cloud: Cloud, pipeline: dict[str, Ran]
) -> None:
    assert "apply=yes" in pipeline["gate"].check().output
    assert (cloud.workspace / "apply").read_text() == "yes\n"


def test_package_builds_the_bundles_the_functions_run(pipeline: dict[str, Ran]) -> None:
    output = pipeline["package"].check().output
    assert all(f"{name}:" in output for name in ("movies", "reviews", "ratings", "web"))


def test_job_image_context_is_the_image_the_plan_deploys(
    cloud: Cloud, pipeline: dict[str, Ran]
) -> None:
    pipeline["job-image-context"].check()
    planned = cloud.outputs()["job_image"]
    assert (cloud.workspace / "job-image").read_text().strip() == planned


def test_before_apply_leaves_a_new_environment_to_after_apply(pipeline: dict[str, Ran]) -> None:
    assert "new environment" in pipeline["before-apply (new)"].check().output


def test_after_apply_publishes_the_model_migrates_and_grants(
    cloud: Cloud, pipeline: dict[str, Ran]
) -> None:
    output = pipeline["after-apply"].check().output
    outputs = cloud.outputs()
    assert f"published {outputs['model_version']}" in output
    with _database(cloud, outputs["db_build_user"]) as conn:
        (head,) = conn.run("SELECT version_num FROM alembic_version")[0]
        owner = conn.run("SELECT tableowner FROM pg_tables WHERE tablename = 'reviews'")[0][0]
        users = outputs["db_app_users"].split(",")
        rights = conn.run(
            "SELECT u, has_table_privilege(u, 'reviews', 'INSERT'),"
            " has_table_privilege(u, 'reviews', 'TRUNCATE') FROM unnest(CAST(:users AS text[])) u",
            users=users,
        )
    assert head and owner == outputs["db_build_user"]  # the deployer owns the schema
    assert [(u, True, False) for u in users] == [tuple(r) for r in rights]


def test_before_apply_on_a_deployed_environment_is_a_no_op(pipeline: dict[str, Ran]) -> None:
    output = pipeline["before-apply"].check().output
    assert "already published" in output and "migrated" in output


def test_operator_grant_runs_through_the_connector(pipeline: dict[str, Ran]) -> None:
    assert "granted data access to" in pipeline["grant"].check().output


class _database:
    """A session on the rehearsed instance as `user` (as the Cloud SQL proxy gives one)."""

    def __init__(self, cloud: Cloud, user: str) -> None:
        self.cloud, self.user = cloud, user

    def __enter__(self) -> pg8000.native.Connection:
        name = json.loads((self.cloud.edge / "edge.json").read_text())
        database = self.cloud.outputs()["db_name"]
        self.conn = pg8000.native.Connection(
            self.user, host="127.0.0.1", port=name["port"], database=database
        )
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()
