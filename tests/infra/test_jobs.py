"""The local job runner: N task processes with Cloud Run's environment contract, retries."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from infra import jobs
from infra.jobs import Runner

# a task that records what it was told, and fails on the attempts listed in FAIL_ON
TASK = textwrap.dedent("""
    import json, os, sys, time
    out = os.environ["OUT"]
    keys = [k for k in os.environ if k.startswith("CLOUD_RUN_")]
    index, attempt = os.environ["CLOUD_RUN_TASK_INDEX"], os.environ["CLOUD_RUN_TASK_ATTEMPT"]
    start = time.time()
    time.sleep(float(os.environ.get("SLEEP", "0")))
    record = {k: os.environ[k] for k in keys} | {"start": start, "end": time.time()}
    with open(f"{out}/{index}-{attempt}.json", "w") as f:
        json.dump(record, f)
    sys.exit(1 if f"{index}:{attempt}" in os.environ.get("FAIL_ON", "").split(",") else 0)
""")


def records(out: Path) -> dict[str, dict[str, str]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}


def run(out: Path, tasks: int, **options: Any) -> jobs.Execution:
    env = {"OUT": str(out), **options.pop("env", {})}
    return Runner("demo", ("-c", TASK), tasks, env, **options).run()


def test_every_task_gets_the_cloud_run_contract(tmp_path: Path) -> None:
    execution = run(tmp_path, 3, execution="demo-exec-1")
    assert execution.succeeded
    seen = records(tmp_path)
    assert sorted(seen) == ["0-0", "1-0", "2-0"]
    for index in range(3):
        env = seen[f"{index}-0"]
        assert env["CLOUD_RUN_JOB"] == "demo"
        assert env["CLOUD_RUN_EXECUTION"] == "demo-exec-1"
        assert env["CLOUD_RUN_TASK_INDEX"] == str(index)
        assert env["CLOUD_RUN_TASK_COUNT"] == "3"
        assert env["CLOUD_RUN_TASK_ATTEMPT"] == "0"
    assert execution.summary()["succeeded"] == 3


def test_a_failed_task_is_retried_with_the_next_attempt_number(tmp_path: Path) -> None:
    execution = run(tmp_path, 2, env={"FAIL_ON": "1:0,1:1"})
    assert execution.succeeded
    assert sorted(records(tmp_path)) == ["0-0", "1-0", "1-1", "1-2"]
    assert [t.attempts for t in execution.tasks] == [1, 3]
    assert records(tmp_path)["1-2"]["CLOUD_RUN_TASK_ATTEMPT"] == "2"


def test_a_task_out_of_retries_fails_the_execution(tmp_path: Path) -> None:
    execution = run(tmp_path, 2, env={"FAIL_ON": "0:0,0:1"}, max_retries=1)
    assert not execution.succeeded
    assert [(t.attempts, t.exit_code) for t in execution.tasks] == [(2, 1), (1, 0)]
    assert execution.summary()["failed"] == 1


def test_parallelism_bounds_how_many_tasks_run_at_once(tmp_path: Path) -> None:
    assert run(tmp_path, 3, env={"SLEEP": "0.3"}, parallelism=1).succeeded
    spans = sorted((r["start"], r["end"]) for r in records(tmp_path).values())
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))


def test_the_cli_runs_only_known_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="unknown job"):
        jobs.main(["run", "--job", "nope", "--tasks", "1"])
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        jobs.main(["run", "--job", "rescore", "--tasks", "1", "--env", "novalue"])
