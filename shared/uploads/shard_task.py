"""One task of an upload fan-out: `python -m shared.uploads.shard_task` (the job `uploads`).

The execution is started by the upload handler (fanout.py) with UPLOAD_OBJECT =
gs://bucket/object#generation and N tasks; task i processes byte-range shard i of N:

1. under the object's lease, claim the shard's ledger row (shard_ledger.py);
2. under the shard's own lease (so two executions never work on one shard at once), find
   its first line start and that line's physical number (once; byteranges.py), then run
   the same pipeline as the handler over the lines that start in its range, checkpointing
   on the shard's row: same validation, scoring, source keys, rejects and duplicates;
3. mark the shard done (or failed, for a file that can never succeed);
4. if every shard has finished: under the object's lease, sum the shards into the object
   row and finish the object exactly as the handler would (rejects object, then report,
   then close the row). Whichever task finishes last does this; the others find it done.

A task killed at any point is retried by Cloud Run and resumes at its checkpoint; transient
failures (database, storage, model) raise and make the task exit non-zero for that retry.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any, cast

from google.api_core import exceptions as google_errors

from shared import reviews, storage
from shared.jobs import task as jobs
from shared.jobs.task import TaskEnv
from shared.sentiment.scored import ScoreFn
from shared.settings import Settings, get_settings
from shared.uploads import byteranges, handler, ledger, pipeline, reader, shard_ledger
from shared.uploads.event import UploadObject
from shared.uploads.fanout import OBJECT_ENV
from shared.uploads.records import PoisonObject
from shared.uploads.shard_ledger import Shard

log = logging.getLogger("shared.uploads")
# how long a task waits for the object (a delivery still processing it in the function, the
# finishing task) or for its shard (a task of another execution working on it)
OBJECT_WAIT_SECONDS = 600.0
SHARD_WAIT_SECONDS = 3600.0


def target(uri: str) -> UploadObject:
    """gs://bucket/object#generation with that generation's size (None once it is gone)."""
    path, _, generation = uri.partition("#")
    bucket, name = storage.split_uri(path)
    if not generation.isdigit():
        raise ValueError(f"{OBJECT_ENV} must be gs://bucket/object#generation, got {uri!r}")
    blob = storage.get_client().bucket(bucket).get_blob(name, generation=int(generation))
    return UploadObject(bucket, name, int(generation), None if blob is None else int(blob.size))


def main(task: TaskEnv) -> int:
    obj = target(os.environ[OBJECT_ENV])
    context = {**task.labels, "object": obj.uri, "generation": str(obj.generation)}
    shard = process_shard(obj, task.index, task.count, get_settings())
    log.info("upload shard %s", shard.progress.status, extra={**context, **_counts(shard)})
    if finish_object(obj):
        log.info("upload fan-out finished", extra=context)
    return 0


def process_shard(
    obj: UploadObject, index: int, count: int, settings: Settings, score: ScoreFn | None = None
) -> Shard:
    """Process shard `index` of `count` to its end (or raise for a retry)."""
    with ledger.lease(obj, OBJECT_WAIT_SECONDS):
        shard = shard_ledger.claim(obj, index, count)
    if shard.finished:
        return shard
    with ledger.lease(obj, SHARD_WAIT_SECONDS, shard=index):
        try:
            if obj.size is None:
                raise _gone(obj)
            shard = _located(obj, obj.size, shard)
            assert shard.start_offset is not None and shard.first_line is not None
            end = byteranges.bounds(obj.size, index, count).end
            records = reader.line_range(
                obj, pipeline.limits(settings), shard.start_offset, end, shard.first_line
            )
            pipeline.ingest(
                obj,
                shard.progress,
                settings,
                score or reviews.score,  # the model loads with the first line to score
                records=records,
                shard=index,
                shards=count,
                budget=math.inf,  # the task's own timeout is the only limit
            )
        except PoisonObject as poison:
            shard_ledger.finish(obj, index, "failed", str(poison))
        except google_errors.NotFound as error:
            shard_ledger.finish(obj, index, "failed", handler.gone(error))
        else:
            shard_ledger.finish(obj, index, "done", None)
    return next(s for s in shard_ledger.shards(obj) if s.index == index)


def _located(obj: UploadObject, size: int, shard: Shard) -> Shard:
    """The shard with its first line start and number, counted once and kept."""
    if shard.start_offset is not None:
        return shard
    blob = storage.get_client().bucket(obj.bucket).get_blob(obj.name, generation=obj.generation)
    if blob is None:
        raise _gone(obj)
    raw = byteranges.bounds(size, shard.index, shard.count)
    start = byteranges.first_line_start(blob, raw.start)
    first_line = byteranges.newlines_before(blob, start) + 1
    shard_ledger.set_start(obj, shard.index, start, first_line)
    return Shard(shard.index, shard.count, start, first_line, shard.progress)


def _gone(obj: UploadObject) -> google_errors.NotFound:
    not_found: Any = google_errors.NotFound  # untyped in google-api-core
    return cast(google_errors.NotFound, not_found(f"{obj.uri}#{obj.generation}"))


def finish_object(obj: UploadObject) -> bool:
    """Finish the object if every shard has; True when this call did it."""
    shards = shard_ledger.shards(obj)
    if not shards or len(shards) < shards[0].count or not all(s.finished for s in shards):
        return False
    with ledger.lease(obj, OBJECT_WAIT_SECONDS):
        if not ledger.current(obj).open:
            return False  # another task finished it first
        failed = [s for s in shards if s.progress.status == "failed"]
        shard_ledger.settle(obj)
        error = f"shard {failed[0].index}: {failed[0].progress.error}" if failed else None
        handler.finish(obj, "failed" if failed else "done", error)
    return True


def _counts(shard: Shard) -> dict[str, int | str | None]:
    p = shard.progress
    return {
        "shard": shard.index,
        "lines": p.lines,
        "inserted": p.inserted,
        "duplicates": p.duplicates,
        "rejected": p.rejected,
        "attempts": p.attempts,
        "first_line": shard.first_line,
        "checkpoint_line": p.checkpoint_line,
    }


if __name__ == "__main__":
    jobs.run(main)
