"""infra.cloudenv: each process's environment comes from terraform/ itself, so a variable
added there reaches the rehearsal with no list to update."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra import cloudenv


def test_functions_jobs_and_steps_with_their_environment() -> None:
    module = cloudenv.system("prod")
    functions = cloudenv.functions(module)
    uploads = functions["reviews-uploads"]
    assert (uploads.target, uploads.signature, uploads.bundle) == (
        "on_upload",
        "cloudevent",
        "reviews",
    )
    assert uploads.env["INSTANCE_CONNECTION_NAME"] == "my-project-prod:asia-northeast3:kmr-prod-pg"
    job = cloudenv.jobs(module)["uploads"].service
    assert (
        uploads.env["UPLOAD_JOB"]
        == f"projects/my-project-prod/locations/asia-northeast3/jobs/{job}"
    )
    assert functions["movies"].secrets["CURSOR_SECRET"].secret == "kmr-prod-cursor-key"
    assert "CURSOR_SECRET" not in cloudenv.jobs(module)["rescore"].env  # jobs sign no cursors
    assert cloudenv.jobs(module)["rescore"].command == ("python", "-m", "shared.rescore")
    steps = cloudenv.steps({"_ENV": "prod"})
    assert steps["after-apply"].command == ("python", "-m", "infra.release", "after")
    assert "--env=prod" in steps["gate"].command


@pytest.fixture
def terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of terraform/ that cloudenv reads instead."""
    copy = tmp_path / "terraform"
    shutil.copytree(cloudenv.TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform*"))
    monkeypatch.setattr(cloudenv, "TERRAFORM", copy)
    return copy


def test_a_variable_added_in_terraform_reaches_every_function(terraform: Path) -> None:
    functions_tf = terraform / "modules" / "system" / "functions.tf"
    text = functions_tf.read_text()
    anchor = "LOG_LEVEL                = var.log_level\n"
    assert anchor in text
    functions_tf.write_text(
        text.replace(anchor, anchor + "FIREBASE_PROJECT_ID = var.project_id\n", 1)
    )
    for process in cloudenv.functions(cloudenv.system("dev")).values():
        if process.name != "function web":
            assert process.env["FIREBASE_PROJECT_ID"] == "my-project-dev", process.name


def test_google_sign_in_reaches_the_console_only_when_configured() -> None:
    client = "1234-abc.apps.googleusercontent.com"
    web = cloudenv.functions(cloudenv.system("dev", identity={"google_client_id": client}))["web"]
    assert web.env["GOOGLE_SIGN_IN_CLIENT_ID"] == client
    secret = web.secrets["GOOGLE_SIGN_IN_CLIENT_SECRET"]
    assert (secret.secret, secret.version) == ("kmr-dev-google-sign-in", "1")
    off = cloudenv.functions(cloudenv.system("dev"))["web"]
    assert "GOOGLE_SIGN_IN_CLIENT_ID" not in off.env
    assert "GOOGLE_SIGN_IN_CLIENT_SECRET" not in off.secrets
