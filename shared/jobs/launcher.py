"""Start one Cloud Run job execution, with overrides, without waiting for it.

In the cloud this is the Admin API's `jobs.run` (google-cloud-run) with overrides: the task
count and environment variables merged into the job's container. It returns as soon as the
execution exists; the execution's name is all the caller keeps (`run_job(...).result()`
would block until the whole execution ends, far beyond an event function's 540 s).
Locally (JOB_RUNNER=local) the same call starts the local job runner (`python -m
infra.jobs run`) as a detached process instead: the only piece of the job path that differs.

`jobs.run` is not idempotent (every call is a new execution), and its generated client
does not retry it, so callers de-duplicate before calling (the upload ledger does).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.lazy import Lazy
from shared.settings import get_settings

REPO = Path(__file__).resolve().parents[2]


def _new_jobs_client() -> Any:
    from google.cloud import run_v2

    return run_v2.JobsClient()


_client: Lazy[Any] = Lazy(_new_jobs_client)


def jobs_client() -> Any:
    """The process's Cloud Run Admin API client, created on first use."""
    return _client.get()


def execution_name(job: str) -> str:
    """Like Cloud Run's `<job>-<suffix>`: unique per start (names local executions)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"{job}-{stamp}-{secrets.token_hex(3)}"


def start(job: str, task_count: int, env: Mapping[str, str]) -> str:
    """Start `job` (projects/P/locations/R/jobs/NAME) with `task_count` tasks and `env`.

    Returns the execution's name (`.../executions/NAME` in the cloud).
    """
    if task_count < 1:
        raise ValueError("an execution needs at least one task")
    if get_settings().job_runner == "local":
        return _start_local(job, task_count, env)
    return _start_cloud(job, task_count, env)


def run_request(job: str, task_count: int, env: Mapping[str, str]) -> Any:
    """The RunJobRequest: env is merged into the job's env; args and timeout stay the job's."""
    from google.cloud import run_v2

    overrides = run_v2.RunJobRequest.Overrides(
        container_overrides=[
            run_v2.RunJobRequest.Overrides.ContainerOverride(
                env=[run_v2.EnvVar(name=name, value=value) for name, value in env.items()]
            )
        ],
        task_count=task_count,
    )
    return run_v2.RunJobRequest(name=job, overrides=overrides)


def _start_cloud(job: str, task_count: int, env: Mapping[str, str]) -> str:
    operation = jobs_client().run_job(request=run_request(job, task_count, env))
    metadata = operation.metadata  # the Execution, present as soon as it is created
    if metadata is not None and metadata.name:
        return str(metadata.name)
    return str(operation.operation.name)


def _start_local(job: str, task_count: int, env: Mapping[str, str]) -> str:
    """Spawn the local job runner, detached: this returns while the tasks run."""
    name = execution_name(job.rsplit("/", 1)[-1])
    command = [sys.executable, "-m", "infra.jobs", "run", "--job", job]
    command += ["--tasks", str(task_count), "--execution", name]
    for key, value in env.items():
        command += ["--env", f"{key}={value}"]
    runner = subprocess.Popen(command, cwd=REPO, start_new_session=True)
    # reap it when it ends, so no zombie outlives the runner in a long-lived server process
    threading.Thread(target=runner.wait, name=f"job-{name}", daemon=True).start()
    return name
