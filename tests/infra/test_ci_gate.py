"""The pipeline's apply gate: who may change an environment, and the set-up checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import ci_gate

DEV = ("dev", "my-project-dev")


@pytest.mark.parametrize(
    ("env", "branch", "pr", "trigger", "apply", "expected"),
    [
        ("dev", "dev", "", "kmr-dev", "", True),
        ("prod", "main", "", "kmr-prod", "", True),
        ("prod", "prod", "", "kmr-prod", "", True),
        ("dev", "feature", "", "kmr-dev", "", False),
        ("prod", "dev", "", "kmr-prod", "", False),
        # a pull request from a branch named like an environment branch
        ("dev", "dev", "12", "kmr-pr", "", False),
        ("prod", "main", "7", "kmr-pr", "true", False),
        # manual gcloud builds submit: only when asked
        ("dev", "", "", "", "false", False),
        ("dev", "", "", "", "", False),
        ("dev", "", "", "", "true", True),
        ("dev", "", "3", "", "true", False),
    ],
)
def test_decide(env: str, branch: str, pr: str, trigger: str, apply: str, expected: bool) -> None:
    assert ci_gate.decide(env, branch, pr, trigger, apply)[0] is expected


def test_unknown_environment_is_an_error() -> None:
    with pytest.raises(ci_gate.GateError, match="_ENV"):
        ci_gate.decide("staging", "main", "", "t", "")


def test_settings_of_the_committed_environments() -> None:
    for env in ("dev", "prod"):
        values = ci_gate.settings(env)
        assert values["project_id"] == f"my-project-{env}"
        assert ci_gate.deployer(values) == f"kmr-deployer@my-project-{env}.iam.gserviceaccount.com"


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    code = ci_gate.main([*args, "--workspace", str(tmp_path)])
    apply = (tmp_path / "apply").read_text().strip() if (tmp_path / "apply").exists() else ""
    bucket = (tmp_path / "state-bucket").read_text().strip() if apply else ""
    return code, apply, bucket


def test_manual_build_writes_the_decision_and_default_bucket(tmp_path: Path) -> None:
    identity = "kmr-deployer@my-project-dev.iam.gserviceaccount.com"
    code, apply, bucket = run(
        tmp_path, "--env=dev", "--project=my-project-dev", "--apply=true", f"--identity={identity}"
    )
    assert (code, apply, bucket) == (0, "yes", "my-project-dev-tfstate")


def test_refuses_another_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, apply, _ = run(tmp_path, "--env=dev", "--project=other", "--identity=x@other.iam")
    assert (code, apply) == (1, "")
    assert "settings.auto.tfvars has project_id 'my-project-dev'" in capsys.readouterr().err


def test_refuses_a_build_not_running_as_the_deployer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, apply, _ = run(
        tmp_path,
        "--env=dev",
        "--project=my-project-dev",
        "--identity=123-compute@developer.gserviceaccount.com",
    )
    assert (code, apply) == (1, "")
    assert "--service-account=projects/my-project-dev/serviceAccounts/kmr-deployer@" in (
        capsys.readouterr().err
    )


def test_explicit_deployer_in_the_settings(tmp_path: Path) -> None:
    env = tmp_path / "terraform" / "environments" / "dev"
    env.mkdir(parents=True)
    (env / "settings.auto.tfvars").write_text(
        'project_id = "p"\n# build_service_account_email = "ignored@p"\n'
        'build_service_account_email = "ci@p.iam.gserviceaccount.com"\n'
    )
    ci_gate.check("dev", "p", "ci@p.iam.gserviceaccount.com", root=tmp_path)
    with pytest.raises(ci_gate.GateError):
        ci_gate.check("dev", "p", "kmr-deployer@p.iam.gserviceaccount.com", root=tmp_path)
