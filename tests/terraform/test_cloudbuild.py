"""cloudbuild.yaml conventions (the schema itself is checked by infra/check_iac.sh)."""

from __future__ import annotations

import itertools
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


def scripts(build: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: " ".join(s.get("args", [])) for s in build["steps"]}


def test_every_step_has_an_id_and_a_pinned_image(build: dict[str, Any]) -> None:
    ids = [step.get("id") for step in build["steps"]]
    assert all(ids) and len(set(ids)) == len(ids), ids
    for step in build["steps"]:
        image = step["name"]
        assert re.search(r":\d+\.\d+\.\d+", image), f"{step['id']}: {image} is not pinned"
        assert ":latest" not in image


def test_substitutions_logging_and_identity(build: dict[str, Any]) -> None:
    subs = build["substitutions"]
    assert set(subs) == {"_ENV", "_APPLY"}  # the state location is the environment's own file
    assert subs["_APPLY"] == "false"  # a manual build plans unless told otherwise
    assert build["options"]["logging"] == "CLOUD_LOGGING_ONLY"
    # _PR_NUMBER / TRIGGER_NAME are absent from manual builds: they must read as empty
    assert build["options"]["substitutionOption"] == "ALLOW_LOOSE"
    # the identity is given by `gcloud builds submit --service-account` or the trigger,
    # and checked by the gate; a hard-coded one would not follow the settings
    assert "serviceAccount" not in build


def test_only_built_in_or_declared_substitutions_are_used(build: dict[str, Any]) -> None:
    text = (REPO / "cloudbuild.yaml").read_text(encoding="utf-8")
    body = text[text.index("steps:") :]
    used = set(re.findall(r"(?<!\$)\$\{?(_?[A-Z][A-Z0-9_]*)\}?", body))
    built_in = {"PROJECT_ID", "BRANCH_NAME", "TRIGGER_NAME", "_PR_NUMBER"}
    assert used <= set(build["substitutions"]) | built_in, used
    # trigger-only values that are empty in a manual build must not be relied on
    assert "SERVICE_ACCOUNT_EMAIL" not in body


def test_no_terraform_settings_from_the_pipeline(build: dict[str, Any]) -> None:
    """Every setting comes from settings.auto.tfvars, never from TF_VAR_/-var here."""
    text = (REPO / "cloudbuild.yaml").read_text(encoding="utf-8")
    assert "TF_VAR_" not in text
    assert not re.search(r"\s-var[ =]", text)


def test_pipeline_order_and_apply_gate(build: dict[str, Any]) -> None:
    steps = {step["id"]: step for step in build["steps"]}
    script = scripts(build)
    assert "infra.ci_gate" in script["gate"]
    for flag in ("--pr=${_PR_NUMBER}", "--trigger=$TRIGGER_NAME", "--apply=${_APPLY}"):
        assert flag in script["gate"], flag
    assert "make test" in script["test"]
    assert "python -m infra.bundles" in script["package"]
    assert "-backend-config=environments/${_ENV}/backend.hcl" in script["tf-init"]
    assert "terraform show -json /workspace/tfplan" in script["tf-plan"]
    assert "infra.release before" in script["before-apply"]
    assert "infra.release after" in script["after-apply"]
    assert "/workspace/apply" in script["tf-apply"]
    assert "tf-outputs-applied.json" in script["tf-apply"]
    order = ["tf-plan", "before-apply", "tf-apply", "after-apply"]
    for earlier, later in itertools.pairwise(order):
        assert earlier in steps[later]["waitFor"], (earlier, later)


def test_one_configuration_the_environment_picks_state_and_settings(
    build: dict[str, Any],
) -> None:
    script = scripts(build)
    for step in ("tf-init", "tf-plan", "tf-apply"):
        assert "terraform/environments" not in script[step], step  # no per-environment copy
    assert "terraform -chdir=terraform init" in script["tf-init"]
    assert "-var-file=environments/${_ENV}/settings.tfvars" in script["tf-plan"]
    assert "cd terraform\n" in script["tf-apply"] and "/workspace/tfplan" in script["tf-apply"]


def test_a_plan_only_build_takes_no_state_lock(build: dict[str, Any]) -> None:
    """A read-only identity (pull requests, docs/deploy.md section 8) cannot write the lock."""
    plan = scripts(build)["tf-plan"]
    assert 'if [ "$$(cat /workspace/apply)" != yes ]; then lock=-lock=false; fi' in plan
    assert '"$$lock"' in plan


def test_the_test_step_has_the_node_the_auth_emulator_needs(build: dict[str, Any]) -> None:
    """firebase-tools needs Node >= 20; the Python image has none (Debian's 18 is too old)."""
    steps = {step["id"]: step for step in build["steps"]}
    node = steps["node"]
    major = re.match(r"node:(\d+)\.\d+\.\d+-bookworm", node["name"])
    assert major and int(major.group(1)) >= 20, node["name"]
    assert steps["test"]["name"].endswith("-bookworm")  # the same Debian: the same glibc
    assert "node" in steps["test"]["waitFor"]
    volume = {"name": "node", "path": "/opt/node"}
    assert volume in node["volumes"] and volume in steps["test"]["volumes"]
    assert "/opt/node" in scripts(build)["node"]
    test = scripts(build)["test"]
    assert test.index('PATH="/opt/node/bin:') < test.index("make test")
