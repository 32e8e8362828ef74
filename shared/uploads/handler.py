"""The upload handler: event -> checks -> lease -> ledger -> pipeline -> report.

Exactly once: every line's review carries source key gs://bucket/object#generation:line and
the insert skips keys already present; the ledger checkpoint advances in the same
transaction as each batch, so a redelivery after a crash resumes after the last committed
batch instead of rescoring the file. Transient failures (database, storage, model) raise,
so Eventarc retries the event, but only UPLOAD_MAX_ATTEMPTS attempts in a row that commit
nothing: the next delivery fails the file with the last error (kept on the ledger row).
Objects that can never succeed are acknowledged with a failed report.
"""

from __future__ import annotations

import logging
from typing import Any

from google.api_core import exceptions as google_errors

from shared import failures, reviews, tracing
from shared.sentiment.scored import ScoreFn
from shared.settings import Settings, get_settings
from shared.uploads import fanout, ledger, outcome, pipeline, reader
from shared.uploads.event import MalformedEvent, UploadObject, age_seconds, attribute, parse
from shared.uploads.ledger import LostLease, Progress
from shared.uploads.records import PoisonObject

log = logging.getLogger("shared.uploads")
# how long a duplicate delivery waits for the one holding the object before asking Eventarc
# to retry it later; it never acknowledges an object that is not finished
LEASE_WAIT_SECONDS = 60.0


def handle_event(event: Any, score: ScoreFn | None = None) -> None:
    """Entry point for google.cloud.storage.object.v1.finalized; returning acknowledges."""
    settings = get_settings()
    try:
        obj, when = parse(event)
    except MalformedEvent as error:
        log.error("upload event ignored: %s", error)
        return
    context = {"bucket": obj.bucket, "object": obj.name, "generation": str(obj.generation)}
    if obj.is_own_output or obj.is_folder:
        log.debug("upload event for our own output or a folder ignored", extra=context)
        return
    if obj.bucket != settings.uploads_bucket:
        log.warning("upload event for another bucket ignored", extra=context)
        return
    age = age_seconds(when)
    if age > settings.upload_event_max_age_seconds:
        log.warning("stale upload event dropped", extra={**context, "age_seconds": int(age)})
        return
    parent = {tracing.TRACEPARENT: attribute(event, tracing.TRACEPARENT) or ""}
    with tracing.server_span(parent, "upload event", "CONSUMER", **context):
        try:
            process(obj, score)
        finally:
            tracing.flush()


@tracing.traced("upload.process")
def process(
    obj: UploadObject, score: ScoreFn | None = None, budget: float | None = None
) -> Progress:
    """Process one object generation to completion (or raise for a retry).

    A large JSONL object is handed to a Cloud Run job execution instead (fanout.py): this
    returns once it is started, and the execution's last task finishes the object.
    `budget` is the time this call may take (default: the event function's, pipeline.py).
    """
    settings = get_settings()
    with ledger.lease(obj, LEASE_WAIT_SECONDS):
        progress = ledger.claim(obj)
        settled = _settled(obj, progress, settings)
        if settled is not None:
            return settled
        try:
            _admit(obj, settings)
            tasks = fanout.shard_count(obj, progress, settings)
            if tasks is not None and fanout.dispatch(obj, tasks, settings) is not None:
                return ledger.current(obj)
            pipeline.ingest(obj, progress, settings, score or reviews.score, budget=budget)
        except PoisonObject as poison:
            return finish(obj, "failed", str(poison))
        except google_errors.NotFound as error:
            return finish(obj, "failed", gone(error))
        except Exception as error:
            _note_failure(obj, error)
            raise
        return finish(obj, "done", None)


def _settled(obj: UploadObject, progress: Progress, settings: Settings) -> Progress | None:
    """The object's state when this delivery has nothing to process, else None."""
    context = {"object": obj.uri, "generation": str(obj.generation)}
    if not progress.open:
        log.info("upload already %s", progress.status, extra=context)
        return progress
    if progress.shard_count is not None:  # never a second execution for a generation
        log.info("upload is with job execution %s", progress.execution, extra=context)
        return progress
    if progress.stalled_attempts > settings.upload_max_attempts:
        return finish(obj, "failed", out_of_attempts(progress))
    return None


def out_of_attempts(progress: Progress) -> str:
    """Why a file that kept failing ends: the budget, and the last attempt's error."""
    attempts = progress.stalled_attempts - 1  # the delivery saying so is not an attempt
    last = progress.error or "none recorded (the attempt was cut off)"
    return f"gave up after {attempts} attempts in a row that committed nothing; last error: {last}"


def _note_failure(obj: UploadObject, error: Exception) -> None:
    """Keep why this attempt failed, for the report once the attempts run out (best effort:
    the database may be what failed). A lost lease is the other delivery's business."""
    if isinstance(error, LostLease):
        return
    note = f"{failures.classify(error)}: {type(error).__name__}: {error}"[:1000]
    try:
        ledger.note_failure(obj, note)
    except Exception:
        log.warning("could not record the upload's failure", exc_info=True)


def gone(error: google_errors.NotFound) -> str:
    """The failure of an object generation that was overwritten or deleted (its successor,
    if any, has an event of its own)."""
    return f"object no longer exists: {error.message}"


def _admit(obj: UploadObject, settings: Settings) -> None:
    """Refuse, before reading a line, what can never be processed."""
    if obj.format is None:
        raise PoisonObject("unsupported file type: expected .jsonl or .csv, optionally .gz")
    if obj.size is not None and obj.size > settings.upload_max_bytes:
        raise PoisonObject(f"object is {obj.size} bytes; the limit is {settings.upload_max_bytes}")
    reader.sniff(obj, pipeline.limits(settings))


def finish(obj: UploadObject, status: str, error: str | None) -> Progress:
    """Write rejects and report, then close the ledger row.

    The report is written before the row is closed: a crash in between leaves the row
    open, so the redelivery redoes this (idempotent) step rather than skipping the report.
    Counts come from the ledger, which holds exactly what was committed.
    """
    progress = ledger.current(obj)
    rejects_uri = outcome.write_rejects(obj) if progress.rejects_kept else None
    body = outcome.build(obj, progress, status, error, rejects_uri)
    outcome.write_report(obj, body)
    final = ledger.finish(obj, status, error)
    level = logging.INFO if status == "done" else logging.WARNING
    log.log(level, "upload %s", status, extra=_log_fields(body))
    return final


def _log_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The report as a log line, plus the two figures the log-based metrics chart
    (rejected_ratio, lines_per_second: terraform/modules/system/monitoring.tf)."""
    lines, seconds = body["lines"], body["duration_seconds"]
    return {
        **{k: v for k, v in body.items() if k != "bucket"},
        "rejected_ratio": round(body["rejected"] / lines, 4) if lines else 0.0,
        "lines_per_second": round(lines / seconds, 1) if seconds > 0 else None,
    }
