"""Starting job executions: the Admin API request (cloud) and the local runner (local)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.api_core import exceptions as google_errors

from shared.jobs import launcher
from tests.support.fake_run_api import FakeRunApi, launcher_on_fake_api

JOB = "projects/p/locations/asia-northeast3/jobs/kmr-dev-uploads"


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunApi]:
    with launcher_on_fake_api(monkeypatch) as api:
        yield api


def test_an_execution_is_started_with_task_count_and_env_overrides(cloud: FakeRunApi) -> None:
    env = {"UPLOAD_OBJECT": "big/file.jsonl", "UPLOAD_GENERATION": "1717"}
    name = launcher.start(JOB, 3, env)

    assert name == f"{JOB}/executions/kmr-dev-uploads-00001"
    (call,) = cloud.calls
    assert call["job"] == JOB
    overrides = call["body"]["overrides"]
    assert overrides["taskCount"] == 3
    (container,) = overrides["containerOverrides"]
    assert {e["name"]: e["value"] for e in container["env"]} == env
    assert not container.get("args")  # the job's own args (its module) stay
    assert "timeout" not in overrides  # the job's task timeout stays


def test_every_call_is_a_new_execution_so_callers_must_deduplicate(cloud: FakeRunApi) -> None:
    first = launcher.start(JOB, 2, {})
    second = launcher.start(JOB, 2, {})
    assert first != second and len(cloud.calls) == 2


def test_an_api_error_reaches_the_caller(cloud: FakeRunApi) -> None:
    cloud.status = 403
    with pytest.raises(google_errors.GoogleAPICallError):
        launcher.start(JOB, 2, {})


def test_at_least_one_task() -> None:
    with pytest.raises(ValueError):
        launcher.start(JOB, 0, {})


def test_execution_names_are_unique_and_name_the_job() -> None:
    names = {launcher.execution_name("rescore") for _ in range(20)}
    assert len(names) == 20 and all(name.startswith("rescore-") for name in names)
