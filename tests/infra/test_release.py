"""The pipeline's steps around `terraform apply`: what runs in which phase."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from infra import release

VERSION = "nsmc-bilstm-v4-20261205"  # the committed artifact
OUTPUTS = {
    "models_bucket": "p-dev-models",
    "sql_connection_name": "p:asia-northeast3:kmr-dev-pg",
    "db_name": "app",
    "db_build_user": "kmr-deployer@p.iam",
    "db_app_users": "kmr-dev-fn-movies@p.iam,kmr-dev-fn-web@p.iam",
}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def __call__(self, command: Sequence[str], env: dict[str, str]) -> None:
        self.calls.append((list(command[1:]), env))


def workspace(tmp_path: Path, apply: str, **files: dict[str, Any]) -> Path:
    (tmp_path / "apply").write_text(apply + "\n")
    for name, values in files.items():
        raw = {k: {"value": v, "sensitive": False} for k, v in values.items()}
        (tmp_path / f"{name.replace('_', '-')}.json").write_text(json.dumps(raw))
    plan = {"planned_values": {"outputs": {"model_version": {"value": VERSION}}}}
    (tmp_path / "tfplan.json").write_text(json.dumps(plan))
    return tmp_path


def never(_bucket: str, _name: str) -> bool:
    return False


def test_plan_only_builds_do_nothing(tmp_path: Path) -> None:
    runner = Recorder()
    ws = workspace(tmp_path, "no", tf_outputs=OUTPUTS)
    for phase in ("before", "after"):
        assert release.release(phase, ws, never, runner)[0].startswith("plan-only")
    assert runner.calls == []


def test_new_environment_waits_for_the_apply(tmp_path: Path) -> None:
    runner = Recorder()
    ws = workspace(tmp_path, "yes", tf_outputs={})
    assert "after apply" in release.release("before", ws, never, runner)[0]
    assert runner.calls == []
    (ws / "tf-outputs-applied.json").write_text(
        json.dumps({k: {"value": v} for k, v in OUTPUTS.items()})
    )
    release.release("after", ws, never, runner)
    publish, migrate = runner.calls
    assert publish[0] == [
        "-m",
        "model.publish",
        f"model/artifacts/{VERSION}",
        "gs://p-dev-models/sentiment/",
    ]
    assert migrate[0] == ["-m", "infra.migrate", "upgrade"]
    # grants go to the users the apply created, read from the post-apply outputs
    assert migrate[1]["DB_APP_USERS"] == OUTPUTS["db_app_users"]
    assert migrate[1]["INSTANCE_CONNECTION_NAME"] == OUTPUTS["sql_connection_name"]


def test_published_version_is_not_published_again(tmp_path: Path) -> None:
    runner = Recorder()
    ws = workspace(tmp_path, "yes", tf_outputs=OUTPUTS)
    lines = release.release("before", ws, lambda _b, _n: True, runner)
    assert "already published" in lines[0]
    assert [c[0][1] for c in runner.calls] == ["infra.migrate"]


def test_unknown_model_version_stops_the_release(tmp_path: Path) -> None:
    ws = workspace(tmp_path, "yes", tf_outputs=OUTPUTS)
    plan = {"planned_values": {"outputs": {"model_version": {"value": "no-such-model"}}}}
    (ws / "tfplan.json").write_text(json.dumps(plan))
    with pytest.raises(release.ReleaseError, match="neither published nor in"):
        release.release("before", ws, never, Recorder())


def test_after_without_outputs_is_an_error(tmp_path: Path) -> None:
    ws = workspace(tmp_path, "yes", tf_outputs=OUTPUTS)
    with pytest.raises(release.ReleaseError, match="did the apply run"):
        release.release("after", ws, never, Recorder())


def test_main_reports_errors_as_exit_1(tmp_path: Path) -> None:
    ws = workspace(tmp_path, "yes", tf_outputs=OUTPUTS)
    assert release.main(["after", "--workspace", str(ws)]) == 1
    assert sys.executable  # the runner re-uses this interpreter (the build's .venv)
