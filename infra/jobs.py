"""The local stand-in for Cloud Run Jobs: run a job's command as N task processes.

    python -m infra.jobs run --job NAME --tasks N [--parallelism P] [--max-retries R]
                             [--execution NAME] [--env KEY=VALUE ...]
    python -m infra.jobs rescore --model-uri URI --tasks N     (against `make run`'s stack)

Nothing emulates Cloud Run Jobs, so this runs the job's command (the module a job's
container runs in the cloud, LOCAL_JOBS below) once per task with the same environment
contract: CLOUD_RUN_JOB, CLOUD_RUN_EXECUTION, CLOUD_RUN_TASK_INDEX, CLOUD_RUN_TASK_COUNT and
CLOUD_RUN_TASK_ATTEMPT. At most `parallelism` tasks run at once; a task that exits non-zero
is started again with ATTEMPT + 1, up to `max_retries` times (Cloud Run's default is 3),
and the execution fails if any task used up its retries. Only the Cloud Run Admin API call
that starts an execution is replaced: `shared.jobs.launcher` spawns this module instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.jobs.launcher import execution_name

REPO = Path(__file__).resolve().parents[1]
# job name -> the command its container runs (Terraform sets the same as the job's args)
LOCAL_JOBS: dict[str, tuple[str, ...]] = {
    "rescore": ("-m", "shared.rescore"),
    "uploads": ("-m", "shared.uploads.shard_task"),
}
DEFAULT_MAX_RETRIES = 3
POLL_SECONDS = 0.05
LOCAL_STACK_ENV = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:54329/app",
    "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9023",
    "GOOGLE_CLOUD_PROJECT": "local",
}


@dataclass
class TaskRun:
    index: int
    attempts: int = 0
    exit_code: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Execution:
    job: str
    name: str
    tasks: tuple[TaskRun, ...]

    @property
    def succeeded(self) -> bool:
        return all(task.exit_code == 0 for task in self.tasks)

    def summary(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "execution": self.name,
            "succeeded": sum(task.exit_code == 0 for task in self.tasks),
            "failed": sum(task.exit_code != 0 for task in self.tasks),
            "tasks": [
                {"index": t.index, "attempts": t.attempts, "exit_code": t.exit_code}
                for t in self.tasks
            ],
        }


def task_env(job: str, execution: str, index: int, count: int, attempt: int) -> dict[str, str]:
    return {
        "CLOUD_RUN_JOB": job,
        "CLOUD_RUN_EXECUTION": execution,
        "CLOUD_RUN_TASK_INDEX": str(index),
        "CLOUD_RUN_TASK_COUNT": str(count),
        "CLOUD_RUN_TASK_ATTEMPT": str(attempt),
    }


class Runner:
    """Runs one execution: starts tasks up to the parallelism, retries failed ones."""

    def __init__(
        self,
        job: str,
        command: Sequence[str],
        tasks: int,
        env: Mapping[str, str],
        *,
        parallelism: int | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        execution: str | None = None,
    ) -> None:
        if tasks < 1 or max_retries < 0:
            raise ValueError("a job needs at least one task and max_retries >= 0")
        self.job, self.command = job, tuple(command)
        self.env = {**os.environ, "PYTHONPATH": str(REPO), **env}
        self.parallelism = min(parallelism or tasks, tasks)
        self.max_retries = max_retries
        self.execution = Execution(
            job, execution or execution_name(job), tuple(TaskRun(i) for i in range(tasks))
        )

    def _start(self, task: TaskRun) -> None:
        count = len(self.execution.tasks)
        env = {
            **self.env,
            **task_env(self.job, self.execution.name, task.index, count, task.attempts),
        }
        task.process = subprocess.Popen([sys.executable, *self.command], cwd=REPO, env=env)
        task.attempts += 1

    def _settle(self, task: TaskRun, code: int) -> bool:
        """Record an attempt's exit; True when the task gets another attempt."""
        task.process, task.exit_code = None, code
        return code != 0 and task.attempts <= self.max_retries

    def run(self) -> Execution:
        waiting = list(self.execution.tasks)
        running: list[TaskRun] = []
        try:
            while waiting or running:
                while waiting and len(running) < self.parallelism:
                    task = waiting.pop(0)
                    self._start(task)
                    running.append(task)
                for task in list(running):
                    assert task.process is not None
                    code = task.process.poll()
                    if code is None:
                        continue
                    running.remove(task)
                    if self._settle(task, code):
                        waiting.insert(0, task)  # retried first, like a task's next attempt
                time.sleep(POLL_SECONDS)
        finally:
            for task in running:
                if task.process is not None:
                    task.process.kill()
                    task.process.wait()
        return self.execution


def command_for(job: str) -> tuple[str, ...]:
    name = job.rsplit("/", 1)[-1]
    try:
        return LOCAL_JOBS[name]
    except KeyError:
        raise SystemExit(f"unknown job {name!r}; local jobs: {', '.join(LOCAL_JOBS)}") from None


def _env_pairs(pairs: Sequence[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env takes KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def _run(args: argparse.Namespace) -> int:
    runner = Runner(
        args.job,
        command_for(args.job),
        args.tasks,
        _env_pairs(args.env),
        parallelism=args.parallelism,
        max_retries=args.max_retries,
        execution=args.execution,
    )
    execution = runner.run()
    print(json.dumps(execution.summary()), flush=True)
    return 0 if execution.succeeded else 1


def _rescore(args: argparse.Namespace) -> int:
    """A backfill against the local stack; prints the execution's summary object."""
    for name, value in LOCAL_STACK_ENV.items():  # the environment's own values win
        os.environ.setdefault(name, value)
    env = {name: os.environ[name] for name in LOCAL_STACK_ENV}
    env.update(MODEL_URI=args.model_uri, DB_POOL_SIZE="2", DB_MAX_OVERFLOW="0")
    env["RESCORE_BLOCK_IDS"] = str(_block_ids(args.tasks))
    runner = Runner(
        "rescore", command_for("rescore"), args.tasks, env, parallelism=args.parallelism
    )
    execution = runner.run()
    from shared.rescore import summary
    from shared.settings import get_settings

    body = summary.read(get_settings().models_bucket, execution.name)
    print(json.dumps(body or execution.summary(), ensure_ascii=False, indent=2), flush=True)
    return 0 if execution.succeeded and body is not None else 1


def _block_ids(tasks: int) -> int:
    """One block size for every task, sized to the catalogue (shared/rescore/partition.py)."""
    from shared.errors import DatabaseUnavailable
    from shared.rescore.partition import block_ids
    from shared.rescore.walk import last_review_id
    from shared.settings import get_settings

    try:
        last_id = last_review_id()
    except DatabaseUnavailable:
        raise SystemExit(
            f"no database at {os.environ['DATABASE_URL']}: start the stack with `make run`"
        ) from None
    return block_ids(get_settings().rescore_batch_size, last_id, tasks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.jobs", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run one execution of a job")
    run.add_argument("--job", required=True, help=f"one of {', '.join(LOCAL_JOBS)}")
    run.add_argument("--tasks", type=int, required=True)
    run.add_argument("--parallelism", type=int, default=None)
    run.add_argument("--max-retries", type=int, default=DEFAULT_MAX_RETRIES)
    run.add_argument("--execution", default=None)
    run.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    rescore = sub.add_parser("rescore", help="rescore every review with MODEL_URI's model")
    rescore.add_argument("--model-uri", required=True, help="artifact folder or gs:// URI")
    rescore.add_argument("--tasks", type=int, default=2)
    rescore.add_argument("--parallelism", type=int, default=None)
    args = parser.parse_args(argv)
    return _run(args) if args.action == "run" else _rescore(args)


if __name__ == "__main__":
    sys.exit(main())
