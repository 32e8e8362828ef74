"""Bulk review ingestion from uploaded JSONL/CSV objects (the reviews CloudEvent handler)."""

from shared.uploads.handler import handle_event, process

__all__ = ["handle_event", "process"]
