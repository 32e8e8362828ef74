"""One rehearsed cloud for the package: stand-ins, the pipeline's run, the functions serving.

The stages run once, in the order a first deployment runs them (docs/deploy.md, section 4;
cloudbuild.yaml), and each test checks one process's part. A stage that fails leaves its
output in the tests that depend on it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from infra import cloudenv
from infra.localpg import EmbeddedPostgres, free_port
from tests.support.fake_run_api import fake_run_api
from tests.support.rehearsal import OPERATOR_DB_ENV, Cloud, Ran, Served, operator, resolved

ENV = "dev"
TRIGGER = "deploy-dev"  # a triggered build of the dev branch: the gate lets it apply
BRANCH = "dev"


@pytest.fixture(scope="package")
def cloud(gcs_emulator: str) -> Iterator[Cloud]:
    root = Path(tempfile.mkdtemp(prefix="rehearsal-"))
    postgres = EmbeddedPostgres(root / "pg", free_port(), durable=False).start()
    try:
        with fake_run_api() as api:
            yield Cloud(ENV, root, postgres, gcs_emulator, api)
    finally:
        postgres.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="package")
def pipeline(cloud: Cloud) -> dict[str, Ran]:
    """A first deployment: the pipeline's Python steps around `terraform apply`, then a
    second build of the same environment, then the grant an operator runs by hand."""
    project = cloud.environment.variable("project_id")
    deployer = cloud.module.variable("build_service_account_email")
    values = {"_ENV": ENV, "PROJECT_ID": project, "BRANCH_NAME": BRANCH, "TRIGGER_NAME": TRIGGER}
    steps = cloudenv.steps(values)
    workspace = ("--workspace", str(cloud.workspace))
    ran = {
        # the metadata server answers with the build's identity: the deployer
        "gate": cloud.run(steps["gate"], *workspace, "--identity", deployer),
        "package": cloud.run(steps["package"]),
    }
    outputs = cloud.outputs()  # the bundles exist now: the plan names the job image
    cloud.write_outputs("tfplan.json", outputs)
    cloud.write_outputs("tf-outputs.json", {})  # a new environment has no outputs yet
    ran["job-image-context"] = cloud.run(steps["job-image-context"], *workspace)
    ran["before-apply (new)"] = cloud.run(steps["before-apply"], *workspace)
    cloud.apply()
    cloud.write_outputs("tf-outputs-applied.json", outputs)
    ran["after-apply"] = cloud.run(steps["after-apply"], *workspace)
    cloud.write_outputs("tf-outputs.json", outputs)  # the next build plans against them
    ran["before-apply"] = cloud.run(steps["before-apply"], *workspace)
    grant = {**OPERATOR_DB_ENV, "DB_APP_USERS": "db_app_users"}
    command = ("python", "-m", "infra.migrate", "grant")
    ran["grant"] = cloud.run(operator("grant", command, resolved(outputs, grant)))
    return ran


@pytest.fixture(scope="package")
def served(cloud: Cloud, pipeline: dict[str, Ran]) -> Iterator[dict[str, Served]]:
    """Every function, started at once and serving (after the migrations and grants)."""
    for name in ("after-apply", "job-image-context"):
        pipeline[name].check()
    running = {key: cloud.serve(key) for key in cloud.functions}
    try:
        with ThreadPoolExecutor(len(running)) as pool:
            list(pool.map(wait_serving, running.values()))
        yield running
    finally:
        for function in running.values():
            function.stop()


def wait_serving(function: Served) -> None:
    if function.process.signature == "http":
        function.wait_serving()
    else:  # an event function answers every GET 405: it is up when it answers at all
        function.wait_serving(path="/", expect=405)


@pytest.fixture(scope="package")
def api_key(cloud: Cloud) -> str:
    """The write key as the functions read it: the first of the api-keys secret's value."""
    movies = cloud.functions["movies"].secrets["API_KEYS"]
    return cloud.secret(movies.secret, movies.version).split(",")[0]


@pytest.fixture(scope="package")
def catalogue(served: dict[str, Served], api_key: str) -> list[int]:
    """Three movies created through the movies function."""
    ids = []
    for title in ("기생충", "올드보이", "살인의 추억"):
        response = requests.post(
            f"{served['movies'].url}/movies",
            json={"title": title},
            headers={"X-API-Key": api_key},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        ids.append(int(response.json()["id"]))
    return ids
