"""Bulk review ingestion from uploaded JSONL/CSV objects: the reviews function's CloudEvent
handler (handler.py), the fan-out job's tasks (shard_task.py) and one object outside the
event path (job.py). Importing the package loads nothing: the console imports names.py
alone."""
