"""The job entry point processes an object like an event delivery would, exactly once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.uploads import job, pipeline
from tests.support.uploads import assert_exact, create_movies, fixture, put, use_model


def test_job_processes_an_object_and_a_rerun_changes_nothing(
    database: str, gcs: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_model(monkeypatch)
    monkeypatch.setattr(pipeline, "TIME_BUDGET_SECONDS", 0.0)  # would stop after one batch
    create_movies(3)
    blob = put(gcs, "big/mixed.jsonl", fixture("mixed.jsonl"))
    assert job.main(["gs://uploads/big/mixed.jsonl"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["inserted"] == 8
    assert job.main([f"gs://uploads/big/mixed.jsonl#{blob.generation}"]) == 0
    assert_exact(blob, 15, 7)


def test_job_refuses_a_missing_object(database: str, gcs: Any) -> None:
    gcs.create_bucket("uploads")
    with pytest.raises(SystemExit, match="does not exist"):
        job.main(["gs://uploads/nope.jsonl"])
