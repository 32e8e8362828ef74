"""Large uploads fanned out over Cloud Run job tasks: whether to, and starting it once.

With UPLOAD_JOB set, an uncompressed JSONL object over UPLOAD_FANOUT_THRESHOLD_BYTES is
split into N byte-range shards (byteranges.py), N = size / UPLOAD_FANOUT_BYTES_PER_TASK
clamped to UPLOAD_FANOUT_MIN_TASKS..MAX_TASKS, processed by one execution of that job with
N tasks (shard_task.py). The handler starts the execution through the Cloud Run Admin API
(shared/jobs/launcher.py) and returns: it never waits for the execution.

What stays on the single-instance path (the handler, resuming across redeliveries):
- CSV: a record may span lines inside quotes, and the quote state at a byte offset is
  unknowable without reading from byte 0, so byte ranges cannot split it safely;
- gzip: a compressed stream cannot be entered midway;
- an object whose processing already began in the function (its checkpoint moved): its
  committed lines are counted on the object's row, which shards do not read;
- any object while UPLOAD_FANOUT_MAX_RUNNING fan-outs are running (the connection budget
  counts that many executions).

A redelivered event never starts a second execution: the decision and the start happen
under the object's lease, and the execution is recorded on the object's ledger row in the
same transaction that counted the running fan-outs; a later delivery finds it and stops.
(If the process dies between the API's answer and that commit, a redelivery starts one
more execution; its tasks take the same shard leases and checkpoints, so nothing is
counted twice, and the report is still written once.)
"""

from __future__ import annotations

import logging
import math

import sqlalchemy as sa

from shared import db, tracing
from shared.jobs import launcher
from shared.settings import Settings
from shared.uploads import ledger
from shared.uploads.event import UploadObject
from shared.uploads.ledger import Progress

log = logging.getLogger("shared.uploads")
# one lock serialises "count the running fan-outs, start one more"
FANOUT_LOCK = 7_240_012
# a fan-out is running while it was dispatched, or one of its shards committed, this recently
ALIVE_SECONDS = 900
OBJECT_ENV = "UPLOAD_OBJECT"  # the override naming gs://bucket/object#generation

_RUNNING = sa.text("""
SELECT count(*) FROM upload_objects o
WHERE o.status = 'processing' AND o.shard_count IS NOT NULL
  AND (o.dispatched_at > clock_timestamp() - make_interval(secs => :alive)
       OR EXISTS (SELECT 1 FROM upload_shards s
                  WHERE (s.bucket, s.object, s.generation) = (o.bucket, o.object, o.generation)
                    AND s.updated_at > clock_timestamp() - make_interval(secs => :alive)))
""")
_RECORD = sa.text(f"""
UPDATE upload_objects SET shard_count = :count, execution = :execution,
       dispatched_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE {ledger.KEY} AND shard_count IS NULL
""")  # noqa: S608


def shard_count(obj: UploadObject, progress: Progress, settings: Settings) -> int | None:
    """How many tasks a fan-out of `obj` would use; None keeps it on the single-instance path."""
    if not settings.upload_job or obj.size is None:
        return None
    if obj.size <= settings.upload_fanout_threshold_bytes:
        return None
    if obj.format != "jsonl" or obj.gzipped or progress.checkpoint_line > 0:
        return None
    wanted = math.ceil(obj.size / settings.upload_fanout_bytes_per_task)
    return max(settings.upload_fanout_min_tasks, min(settings.upload_fanout_max_tasks, wanted))


def dispatch(obj: UploadObject, count: int, settings: Settings) -> str | None:
    """Start the job execution for `obj` (called under its lease); None when too many run."""
    assert settings.upload_job is not None
    with db.transaction() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": FANOUT_LOCK})
        running = conn.execute(_RUNNING, {"alive": ALIVE_SECONDS}).scalar_one()
        if running >= settings.upload_fanout_max_running:
            log.info(
                "upload processed in the function: fan-outs at their limit",
                extra={"object": obj.uri, "running": running},
            )
            return None
        uri = f"{obj.uri}#{obj.generation}"
        overrides = {OBJECT_ENV: uri, **tracing.env_carrier()}  # the tasks join this trace
        execution = launcher.start(settings.upload_job, count, overrides)
        conn.execute(_RECORD, {**ledger.key(obj), "count": count, "execution": execution})
    log.info(
        "upload fanned out",
        extra={
            "object": obj.uri,
            "generation": str(obj.generation),
            "tasks": count,
            "execution": execution,
        },
    )
    return execution
