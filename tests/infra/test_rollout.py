"""Rollout helpers: a relabelled copy of an artifact, starting and following the rescoring job."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from infra import rollout
from shared.rescore import summary
from shared.sentiment.artifact import fetch_artifact
from tests.support.fake_run_api import FakeRunApi, launcher_on_fake_api
from tests.support.rescore import default_artifact

JOB = "projects/p/locations/r/jobs/kmr-dev-rescore"


def test_relabel_copies_a_verified_artifact_under_a_new_version(tmp_path: Path) -> None:
    copy = rollout.relabel(default_artifact(), tmp_path / "v2", "rollout-v2")
    manifest, files = fetch_artifact(str(copy))
    original, original_files = fetch_artifact(str(default_artifact()))
    assert manifest.version == "rollout-v2" and original.version != "rollout-v2"
    assert files == original_files  # the same model, byte for byte
    # every other manifest field is kept
    before = json.loads((default_artifact() / "manifest.json").read_text())
    after = json.loads((copy / "manifest.json").read_text())
    assert {**before, "version": "rollout-v2"} == after


@pytest.mark.parametrize("version", ["", "a/b", "v 2"])
def test_relabel_refuses_a_version_that_is_no_folder_name(tmp_path: Path, version: str) -> None:
    with pytest.raises(SystemExit, match="version"):
        rollout.relabel(default_artifact(), tmp_path / "x", version)


def test_relabel_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "v2").mkdir()
    with pytest.raises(SystemExit, match="exists"):
        rollout.relabel(default_artifact(), tmp_path / "v2", "v2")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Any:
    with launcher_on_fake_api(monkeypatch) as fake:
        yield fake


def test_rescore_starts_the_job_with_the_model_and_task_count(
    api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["rescore", "--job", JOB, "--model-uri", "gs://models/sentiment/v2/", "--tasks", "8"]
    assert rollout.main(args) == 0
    (call,) = api.calls
    overrides = call["body"]["overrides"]
    assert overrides["taskCount"] == 8
    (container,) = overrides["containerOverrides"]
    assert container["env"] == [{"name": "MODEL_URI", "value": "gs://models/sentiment/v2/"}]
    started = json.loads(capsys.readouterr().out)["started"]
    assert started == f"{JOB}/executions/kmr-dev-rescore-00001"


def test_wait_polls_the_execution_until_it_completes(
    api: FakeRunApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"{JOB}/executions/kmr-dev-rescore-00001"
    api.executions[name] = {"runningCount": 2, "taskCount": 2}
    client = api.executions_client()
    seen: list[int] = []

    def finish_later(seconds: float) -> None:
        seen.append(1)
        api.executions[name] = {
            "taskCount": 2,
            "succeededCount": 2,
            "completionTime": "2026-11-27T00:00:00Z",
        }

    monkeypatch.setattr(time, "sleep", finish_later)  # the execution ends meanwhile
    state = rollout.wait(name, client, poll_seconds=0)
    assert seen == [1]
    assert (state.succeeded_count, state.failed_count) == (2, 0)


@pytest.mark.parametrize(
    ("given", "uri", "expected"),
    [
        (None, "gs://kmr-dev-models/sentiment/v2/", "kmr-dev-models"),
        ("kmr-dev-models", "gs://elsewhere/sentiment/v2/", "kmr-dev-models"),
    ],
)
def test_the_summary_bucket_is_given_or_the_model_uris(
    given: str | None, uri: str, expected: str
) -> None:
    assert rollout.summary_bucket(given, uri) == expected


def test_wait_without_a_bucket_stops_before_starting_anything(api: FakeRunApi) -> None:
    args = ["rescore", "--job", JOB, "--model-uri", "/tmp/model-v2", "--tasks", "2", "--wait"]
    with pytest.raises(SystemExit, match="--models-bucket"):
        rollout.main(args)
    assert api.calls == []  # no execution started that nobody could follow


def test_follow_reads_the_summary_from_the_environments_bucket_not_local_settings(
    api: FakeRunApi, gcs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"{JOB}/executions/kmr-dev-rescore-00007"
    api.executions[name] = {
        "taskCount": 2,
        "succeededCount": 2,
        "completionTime": "2026-11-27T00:00:00Z",
    }
    body = {"execution": "kmr-dev-rescore-00007", "status": "done", "rescored": 5}
    # the local default bucket ("models") holds another summary of the same name: never read
    gcs.create_bucket("models")
    summary.write("models", {**body, "rescored": -1})
    gcs.create_bucket("kmr-dev-models")
    summary.write("kmr-dev-models", body)
    assert rollout.follow(name, "kmr-dev-models", api.executions_client(), poll_seconds=0) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.index("{\n") :]) == body
