"""cloudbuild.yaml conventions (the schema itself is checked by infra/check_iac.sh)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import REPO

yaml = pytest.importorskip("yaml")


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    with (REPO / "cloudbuild.yaml").open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def test_every_step_has_an_id_and_a_pinned_image(build: dict[str, Any]) -> None:
    ids = [step.get("id") for step in build["steps"]]
    assert all(ids) and len(set(ids)) == len(ids), ids
    for step in build["steps"]:
        image = step["name"]
        assert re.search(r":\d+\.\d+\.\d+", image), f"{step['id']}: {image} is not pinned"
        assert ":latest" not in image


def test_substitutions_logging_and_identity(build: dict[str, Any]) -> None:
    assert {"_ENV", "_REGION", "_STATE_BUCKET", "_MODEL_VERSION"} <= set(build["substitutions"])
    assert all(key.startswith("_") for key in build["substitutions"])
    assert build["options"]["logging"] == "CLOUD_LOGGING_ONLY"
    assert build["serviceAccount"].startswith("projects/$PROJECT_ID/serviceAccounts/")


def test_pipeline_order_and_apply_gate(build: dict[str, Any]) -> None:
    steps = {step["id"]: step for step in build["steps"]}
    script = {k: " ".join(s.get("args", [])) for k, s in steps.items()}
    assert "make test" in script["test"]
    assert "python -m infra.package" in script["package"]
    assert "-backend-config" in script["tf-init"] and "${_STATE_BUCKET}" in script["tf-init"]
    assert "python -m model.publish" in script["publish-model"]
    assert "python -m infra.migrate" in script["migrate"]
    assert "DB_APP_USERS" in script["migrate"]
    # everything that changes the cloud is gated on an environment branch
    for step in ("publish-model", "migrate", "tf-apply"):
        assert "/workspace/apply" in script[step], step
    assert set(steps["tf-apply"]["waitFor"]) == {"publish-model", "migrate"}
    assert "dev:dev | prod:main | prod:prod" in script["gate"]
