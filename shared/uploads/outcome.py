"""The objects we write back to the bucket: a report and the rejected lines (names.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared import storage
from shared.uploads import ledger, names
from shared.uploads.event import UploadObject
from shared.uploads.ledger import Progress

WRITE_CHUNK = 1 << 20  # resumable-upload chunk: bounded memory whatever the rejects' size


def write_rejects(obj: UploadObject) -> str:
    """Render the rejected lines (from the ledger, so exactly once) to the bucket."""
    blob = storage.get_client().bucket(obj.bucket).blob(names.rejects_name(obj.name))
    with blob.open("w", chunk_size=WRITE_CHUNK, content_type="application/x-ndjson") as out:
        for row in ledger.iter_rejects(obj):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return f"gs://{obj.bucket}/{blob.name}"


def build(
    obj: UploadObject, progress: Progress, status: str, error: str | None, rejects_uri: str | None
) -> dict[str, Any]:
    finished = datetime.now(UTC)
    return {
        "bucket": obj.bucket,
        "object": obj.name,
        "generation": str(obj.generation),
        "status": status,
        "lines": progress.lines,
        "inserted": progress.inserted,
        "duplicates": progress.duplicates,
        "rejected": progress.rejected,
        "duration_seconds": round((finished - progress.started_at).total_seconds(), 3),
        "model_version": progress.model_version,
        "error": error,
        "rejects": rejects_uri,
        # rejected lines past the caps (bounds.py): counted in `rejected`, not in `rejects`
        "rejects_omitted": progress.rejected - progress.rejects_kept,
        "attempts": progress.attempts,
        # fanned out: how many byte-range shards, and the job execution that ran them
        "shards": progress.shard_count or 1,
        "execution": progress.execution,
        "started_at": progress.started_at.isoformat(),
        "finished_at": finished.isoformat(),
    }


def write_report(obj: UploadObject, body: dict[str, Any]) -> None:
    blob = storage.get_client().bucket(obj.bucket).blob(names.report_name(obj.name))
    blob.upload_from_string(
        json.dumps(body, ensure_ascii=False, indent=2), content_type="application/json"
    )
