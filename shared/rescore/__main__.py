"""Entry point of one rescoring task: `python -m shared.rescore` (see the package docstring).

Environment: MODEL_URI (the target artifact), RESCORE_BATCH_SIZE, the database and storage
variables of every function, and the task contract (CLOUD_RUN_TASK_INDEX/COUNT/ATTEMPT,
CLOUD_RUN_EXECUTION) that Cloud Run or the local job runner sets.
"""

from __future__ import annotations

import logging

from shared.jobs import task as jobs
from shared.jobs.task import TaskEnv
from shared.rescore import ledger, summary, walk
from shared.rescore.partition import Shard, block_ids
from shared.sentiment import get_scorer
from shared.settings import get_settings

log = logging.getLogger("shared.rescore")


def main(task: TaskEnv) -> int:
    settings = get_settings()
    scorer = get_scorer()  # ModelUnavailable fails the task: Cloud Run retries it
    row = ledger.claim(task, scorer.version, settings.model_uri)
    if not row.done:
        size = settings.rescore_batch_size
        shard = Shard(task.index, task.count, settings.rescore_block_ids or block_ids(size))
        walk.walk(task, row, shard, size, scorer.score)
        row = ledger.finish(task)
    log.info("rescore task done", extra={**task.labels, **summary.task_part(row)})
    rows = ledger.execution_tasks(task.execution)
    if summary.complete(rows):
        uri = summary.write(settings.models_bucket, summary.build(rows))
        log.info("rescore execution done", extra={**task.labels, "summary": uri})
    return 0


if __name__ == "__main__":
    jobs.run(main)
