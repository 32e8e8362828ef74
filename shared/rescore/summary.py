"""The execution's summary: totals over its tasks, written once all of them are done.

The object is `gs://<models bucket>/rescores/<execution>.json`. It is computed from the
ledger rows only (counts and timestamps), so whichever task finishes last writes it, and two
tasks finishing together write the same bytes. It is created, never replaced: the job's
identity may only create objects there (roles/storage.objectCreator; replacing one needs
delete permission), so a second writer (two tasks finishing together, a retried task, a
retried request whose first attempt landed) asks for "only if absent" and takes the 412 as
done.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from google.api_core.exceptions import PreconditionFailed

from shared import storage
from shared.rescore.ledger import TaskRow

log = logging.getLogger("shared.rescore")
PREFIX = "rescores/"


def object_name(execution: str) -> str:
    return f"{PREFIX}{execution}.json"


def complete(rows: list[TaskRow]) -> bool:
    """Every task of the execution has finished (its rows say how many there are)."""
    return bool(rows) and len(rows) == rows[0].task_count and all(row.done for row in rows)


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def task_part(row: TaskRow) -> dict[str, Any]:
    end = row.finished_at or row.updated_at
    seconds = (end - row.started_at).total_seconds()
    return {
        "index": row.task_index,
        "status": row.status,
        "seen": row.seen,
        "rescored": row.rescored,
        "skipped": row.skipped,
        "conflicts": row.conflicts,
        "attempts": row.attempts,
        "duration_seconds": round(seconds, 3),
        "rows_per_second": _rate(row.rescored, seconds),
    }


def build(rows: list[TaskRow]) -> dict[str, Any]:
    """Totals, duration (first start to last finish) and rates, plus each task's part."""
    first, seen = rows[0], sum(row.seen for row in rows)
    rescored = sum(row.rescored for row in rows)
    started = min(row.started_at for row in rows)
    finished = max(row.finished_at or row.updated_at for row in rows)
    seconds = (finished - started).total_seconds()
    return {
        "execution": first.execution,
        "model_version": first.model_version,
        "model_uri": first.model_uri,
        "status": "done" if complete(rows) else "running",
        "tasks": first.task_count,
        "seen": seen,
        "rescored": rescored,
        "skipped": seen - rescored,
        "conflicts": sum(row.conflicts for row in rows),
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "duration_seconds": round(seconds, 3),
        "rows_per_second": _rate(rescored, seconds),
        "seen_per_second": _rate(seen, seconds),
        "per_task": [task_part(row) for row in rows],
    }


def write(bucket: str, body: dict[str, Any]) -> str:
    """Create the summary object unless it exists (then another writer already did)."""
    blob = storage.get_client().bucket(bucket).blob(object_name(body["execution"]))
    try:
        blob.upload_from_string(
            json.dumps(body, ensure_ascii=False, indent=2),
            content_type="application/json",
            if_generation_match=0,  # create only
        )
    except PreconditionFailed:
        log.info("rescore summary already written", extra={"execution": body["execution"]})
    return f"gs://{bucket}/{blob.name}"


def read(bucket: str, execution: str) -> dict[str, Any] | None:
    blob = storage.get_client().bucket(bucket).get_blob(object_name(execution))
    return None if blob is None else dict(json.loads(blob.download_as_bytes()))
