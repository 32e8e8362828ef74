"""Bulk review ingestion from uploaded JSONL/CSV objects: the reviews function's CloudEvent
handler (handler.py) and the fan-out job's tasks. Importing the package loads nothing: the
console imports names.py alone."""
