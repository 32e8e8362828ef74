"""The rescoring ledger: one rescore_tasks row per (execution, task) with checkpoint and counts.

The checkpoint is the last review id the task's shard has covered. It moves only in the
transaction that commits a batch's UPDATE, together with the counts, so after any crash the
row matches exactly what was committed and a retry resumes right after it. Each commit also
fences: it locks the row and checks the checkpoint is still the one this attempt last saw,
so two attempts of one task running at once (a runaway retry) cannot count a batch twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shared import db
from shared.errors import ServiceUnavailable
from shared.jobs.task import TaskEnv

_KEY = "execution = :execution AND task_index = :task_index"
COLUMNS = (
    "execution, task_index, task_count, model_version, model_uri, status, checkpoint_id, seen,"
    " rescored, conflicts, attempts, started_at, updated_at, finished_at"
)


class LostCheckpoint(ServiceUnavailable):
    """Another attempt of this task moved the checkpoint: stop without counting."""


class ExecutionMismatch(ValueError):
    """The execution name was already used with another model or task count."""


@dataclass(frozen=True)
class TaskRow:
    execution: str
    task_index: int
    task_count: int
    model_version: str
    model_uri: str
    status: str
    checkpoint_id: int
    seen: int
    rescored: int
    conflicts: int
    attempts: int
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @property
    def skipped(self) -> int:
        """Rows seen but not rescored: already on the target version, or edited meanwhile."""
        return self.seen - self.rescored

    @property
    def done(self) -> bool:
        return self.status == "done"


@dataclass(frozen=True)
class BatchCounts:
    checkpoint_id: int
    seen: int
    rescored: int
    conflicts: int


def _key(task: TaskEnv) -> dict[str, Any]:
    return {"execution": task.execution, "task_index": task.index}


def _row(row: Any) -> TaskRow:
    return TaskRow(**dict(row._mapping))


def claim(task: TaskEnv, model_version: str, model_uri: str) -> TaskRow:
    """The task's row, created on its first attempt; counts this attempt."""
    params = {**_key(task), "task_count": task.count, "version": model_version, "uri": model_uri}
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO rescore_tasks (execution, task_index, task_count, model_version,"
                " model_uri) VALUES (:execution, :task_index, :task_count, :version, :uri)"
                " ON CONFLICT DO NOTHING"
            ),
            params,
        )
        row = _row(
            conn.execute(
                sa.text(
                    "UPDATE rescore_tasks SET attempts = attempts + 1,"  # noqa: S608
                    f" updated_at = clock_timestamp() WHERE {_KEY} RETURNING {COLUMNS}"
                ),
                params,
            ).one()
        )
    if (row.task_count, row.model_version) != (task.count, model_version):
        raise ExecutionMismatch(
            f"execution {task.execution} already ran {row.task_count} tasks for model "
            f"{row.model_version}; this task has {task.count} tasks for {model_version}"
        )
    return row


def fence(conn: sa.Connection, task: TaskEnv, expected_checkpoint: int) -> None:
    """Lock the task's row for this batch; fail unless the checkpoint is still ours."""
    current = conn.execute(
        sa.text(f"SELECT checkpoint_id FROM rescore_tasks WHERE {_KEY} FOR UPDATE"),  # noqa: S608
        _key(task),
    ).scalar_one()
    if current != expected_checkpoint:
        raise LostCheckpoint(
            f"task {task.index} of {task.execution}: checkpoint is {current}, "
            f"expected {expected_checkpoint}"
        )


def advance(conn: sa.Connection, task: TaskEnv, counts: BatchCounts) -> TaskRow:
    """Move the checkpoint and add the batch's counts, in the batch's transaction."""
    row = conn.execute(
        sa.text(
            "UPDATE rescore_tasks SET checkpoint_id = :checkpoint_id, seen = seen + :seen,"  # noqa: S608
            " rescored = rescored + :rescored, conflicts = conflicts + :conflicts,"
            f" updated_at = clock_timestamp() WHERE {_KEY} RETURNING {COLUMNS}"
        ),
        {**_key(task), **asdict(counts)},
    ).one()
    return _row(row)


def finish(task: TaskEnv) -> TaskRow:
    with db.transaction() as conn:
        row = conn.execute(
            sa.text(
                "UPDATE rescore_tasks SET status = 'done',"  # noqa: S608
                " finished_at = coalesce(finished_at, clock_timestamp()),"
                f" updated_at = clock_timestamp() WHERE {_KEY} RETURNING {COLUMNS}"
            ),
            _key(task),
        ).one()
    return _row(row)


def execution_tasks(execution: str) -> list[TaskRow]:
    """Every task row of an execution that has started, by index."""
    with db.transaction() as conn:
        rows = conn.execute(
            sa.text(
                f"SELECT {COLUMNS} FROM rescore_tasks WHERE execution = :execution"  # noqa: S608
                " ORDER BY task_index"
            ),
            {"execution": execution},
        ).all()
    return [_row(row) for row in rows]
