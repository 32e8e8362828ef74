"""The Cloud Run job task contract: who am I (index of count), which try, which execution.

Cloud Run sets these variables on every task container; the local job runner
(infra/jobs.py) sets the same ones, so a task module cannot tell the two apart. Shards are
derived from INDEX and COUNT only (tasks may start in any order), and a task must be safe to
run more than once: ATTEMPT says which try this is, for the logs.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from shared import logs, tracing
from shared.settings import Need, get_settings

log = logging.getLogger("shared.jobs")


class TaskEnvError(ValueError):
    """The task variables are missing or inconsistent."""


@dataclass(frozen=True)
class TaskEnv:
    job: str
    execution: str
    index: int
    count: int
    attempt: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> TaskEnv:
        env = os.environ if environ is None else environ
        try:
            index = int(env.get("CLOUD_RUN_TASK_INDEX", "0"))
            count = int(env.get("CLOUD_RUN_TASK_COUNT", "1"))
            attempt = int(env.get("CLOUD_RUN_TASK_ATTEMPT", "0"))
        except ValueError as error:
            raise TaskEnvError(f"task variables must be integers: {error}") from None
        execution = env.get("CLOUD_RUN_EXECUTION", "")
        if not execution:
            raise TaskEnvError("CLOUD_RUN_EXECUTION is not set (run through a job runner)")
        if not 0 <= index < count or attempt < 0:
            raise TaskEnvError(f"task {index} of {count} (attempt {attempt}) is not valid")
        return cls(env.get("CLOUD_RUN_JOB", "local"), execution, index, count, attempt)

    @property
    def labels(self) -> dict[str, str | int]:
        """Log fields naming this task (Cloud Logging adds the same as resource labels)."""
        return {
            "job": self.job,
            "execution": self.execution,
            "task_index": self.index,
            "task_count": self.count,
            "task_attempt": self.attempt,
        }


def run(main: Callable[[TaskEnv], int], needs: tuple[Need, ...] = (Need.DATABASE,)) -> None:
    """Run one task: structured logs, and a non-zero exit (a retry) on any failure.

    `needs`: what the task needs from its environment beyond valid settings (every job here
    works on the database), checked before anything else. A failed task's last line is a
    JSON log entry with severity ERROR and the stack trace, which Cloud Logging shows as the
    task's error; the exit code makes Cloud Run retry it.
    """
    settings = get_settings()
    logs.configure(settings.log_level)
    job = os.environ.get("CLOUD_RUN_JOB", "local")
    # the execution's starter passed its span as TRACEPARENT (fanout.py): the task's span
    # continues that trace, and its log lines carry its id
    parent = {tracing.TRACEPARENT: os.environ.get(tracing.TRACEPARENT_ENV, "")}
    with tracing.server_span(parent, f"job {job}", "CONSUMER"):
        try:
            settings.require(*needs, process=f"job {job}")
            code = main(TaskEnv.from_environ())
        except Exception:
            log.exception("task failed")
            code = 1
    tracing.flush()
    sys.stdout.flush()
    sys.exit(code)
