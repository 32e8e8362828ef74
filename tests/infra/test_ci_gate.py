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


def test_files_of_the_committed_environments() -> None:
    for env in ("dev", "prod"):
        values = ci_gate.check_files(env, f"my-project-{env}")
        assert ci_gate.deployer(values) == f"kmr-deployer@my-project-{env}.iam.gserviceaccount.com"
        assert ci_gate.backend(env) == {
            "bucket": f"my-project-{env}-tfstate",
            "prefix": f"kmr/{env}",
        }


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    code = ci_gate.main([*args, "--workspace", str(tmp_path)])
    apply = (tmp_path / "apply").read_text().strip() if (tmp_path / "apply").exists() else ""
    return code, apply


DEPLOYER = "--identity=kmr-deployer@my-project-dev.iam.gserviceaccount.com"
READ_ONLY = "--identity=kmr-plan@my-project-dev.iam.gserviceaccount.com"


def test_manual_build_writes_the_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, apply = run(tmp_path, "--env=dev", "--project=my-project-dev", "--apply=true", DEPLOYER)
    assert (code, apply) == (0, "yes")
    assert "state=gs://my-project-dev-tfstate/kmr/dev" in capsys.readouterr().out


def test_refuses_another_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, apply = run(tmp_path, "--env=dev", "--project=other", "--identity=x@other.iam")
    assert (code, apply) == (1, "")
    assert "settings.tfvars has project_id 'my-project-dev'" in capsys.readouterr().err


def test_refuses_a_build_that_applies_not_running_as_the_deployer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, apply = run(
        tmp_path,
        "--env=dev",
        "--project=my-project-dev",
        "--apply=true",
        "--identity=123-compute@developer.gserviceaccount.com",
    )
    assert (code, apply) == (1, "")
    assert "--service-account=projects/my-project-dev/serviceAccounts/kmr-deployer@" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "build",
    [
        ["--pr=12", "--branch=dev", "--trigger=kmr-dev-pr"],  # a pull request, any branch
        ["--branch=feature", "--trigger=kmr-dev"],  # a branch that does not deploy
        ["--apply=false"],  # a manual plan
    ],
)
def test_a_plan_only_build_may_run_as_a_read_only_identity(
    tmp_path: Path, build: list[str]
) -> None:
    """The guide runs pull-request builds with a read-only account: the gate lets them plan."""
    code, apply = run(tmp_path, "--env=dev", "--project=my-project-dev", *build, READ_ONLY)
    assert (code, apply) == (0, "no")


def write_environment(root: Path, settings: str, backend: str) -> None:
    env = root / "terraform" / "environments" / "dev"
    env.mkdir(parents=True)
    (env / "settings.tfvars").write_text(settings)
    (env / "backend.hcl").write_text(backend)


def test_explicit_deployer_in_the_settings(tmp_path: Path) -> None:
    write_environment(
        tmp_path,
        'project_id = "p"\nenvironment = "dev"\n# build_service_account_email = "ignored@p"\n'
        'build_service_account_email = "ci@p.iam.gserviceaccount.com"\n',
        'bucket = "p-tfstate"\nprefix = "kmr/dev"\n',
    )
    values = ci_gate.check_files("dev", "p", root=tmp_path)
    ci_gate.check_identity(values, "p", "ci@p.iam.gserviceaccount.com")
    with pytest.raises(ci_gate.GateError):
        ci_gate.check_identity(values, "p", "kmr-deployer@p.iam.gserviceaccount.com")


@pytest.mark.parametrize(
    ("settings", "backend", "message"),
    [
        (
            'project_id = "p"\nenvironment = "prod"\n',
            'bucket = "b"\nprefix = "kmr/dev"\n',
            "environment 'prod'",
        ),
        ('project_id = "p"\nenvironment = "dev"\n', 'prefix = "kmr/dev"\n', "backend.hcl"),
        ('project_id = "p"\nenvironment = "dev"\n', 'bucket = "b"\nprefix = "kmr/prod"\n', "/dev"),
    ],
)
def test_refuses_files_that_belong_to_another_environment(
    tmp_path: Path, settings: str, backend: str, message: str
) -> None:
    write_environment(tmp_path, settings, backend)
    with pytest.raises(ci_gate.GateError, match=message):
        ci_gate.check_files("dev", "p", root=tmp_path)
