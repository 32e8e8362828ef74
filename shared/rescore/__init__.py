"""Rescoring every stored review with a new model version: one Cloud Run job task per shard.

    python -m shared.rescore        (as a job task: MODEL_URI names the target artifact)

Each task owns a disjoint shard of the reviews (blocks of consecutive ids, dealt round-robin
to the tasks: `partition.py`), walks it in keyset batches, scores the rows whose model_version
differs from the target, and commits each batch in one transaction that also advances the
task's checkpoint and counts (`ledger.py`, table rescore_tasks). The UPDATE only touches rows
still on another version and whose content is the one that was scored (`batches.py`), so a
concurrent edit is never overwritten with a stale score, and the aggregates move through the
statement-level triggers for exactly the rows changed. A retried task resumes from its
checkpoint; a whole re-run finds nothing left to rescore. The last task to finish writes the
execution's summary object (`summary.py`).
"""
