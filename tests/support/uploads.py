"""Helpers for upload tests: events, objects, movies, scorers and the exactness checks."""

from __future__ import annotations

import contextlib
import gzip
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import sqlalchemy as sa
from cloudevents.http import CloudEvent, to_binary, to_structured

from shared import db, storage
from shared.errors import ModelUnavailable
from shared.sentiment import Scored, ScoreFn, get_scorer, reset_scorer
from shared.settings import get_settings
from tests import support

FIXTURES = support.FIXTURES / "uploads"
BUCKET = "uploads"
FINALIZED = "google.cloud.storage.object.v1.finalized"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


def put(gcs: Any, name: str, data: bytes, bucket: str = BUCKET) -> Any:
    """Upload `data` (creating the bucket if needed); return the blob with its generation."""
    target = gcs.lookup_bucket(bucket) or gcs.create_bucket(bucket)
    blob = target.blob(name)
    blob.upload_from_string(data)
    blob.reload()
    return blob


def event_for(blob: Any, *, size: int | None = None, age: timedelta | None = None) -> CloudEvent:
    """The finalize CloudEvent Eventarc would send for `blob`."""
    when = datetime.now(UTC) - (age or timedelta())
    attributes = {
        "id": uuid.uuid4().hex,
        "type": FINALIZED,
        "source": f"//storage.googleapis.com/projects/_/buckets/{blob.bucket.name}",
        "subject": f"objects/{blob.name}",
        "time": when.isoformat().replace("+00:00", "Z"),
        "specversion": "1.0",
    }
    data = {
        "bucket": blob.bucket.name,
        "name": blob.name,
        "generation": str(blob.generation),
        "metageneration": "1",
        "size": str(blob.size if size is None else size),
        "contentType": blob.content_type or "application/octet-stream",
        "timeCreated": when.isoformat(),
        "updated": when.isoformat(),
    }
    return CloudEvent(attributes, data)


def deliver(client: Any, event: CloudEvent, *, structured: bool = False) -> Any:
    """POST the event to a functions-framework test client, as Eventarc does."""
    headers, body = (to_structured if structured else to_binary)(event)
    return client.post("/", headers=headers, data=body)


def create_movies(count: int = 3) -> list[int]:
    """Movies 1..count (ids fixed so the fixture files can name them)."""
    with db.transaction() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO movies (id, title) OVERRIDING SYSTEM VALUE "
                "SELECT i, 'movie ' || i FROM generate_series(1, :n) i"
            ),
            {"n": count},
        )
        conn.execute(
            sa.text("SELECT setval(pg_get_serial_sequence('movies', 'id'), :n)"), {"n": count}
        )
    return list(range(1, count + 1))


def ledger_row(blob: Any) -> dict[str, Any] | None:
    with db.transaction() as conn:
        row = (
            conn.execute(
                sa.text(
                    "SELECT * FROM upload_objects "
                    "WHERE bucket = :b AND object = :o AND generation = :g"
                ),
                {"b": blob.bucket.name, "o": blob.name, "g": blob.generation},
            )
            .mappings()
            .one_or_none()
        )
    return dict(row) if row else None


def review_count(blob: Any | None = None) -> int:
    with db.transaction() as conn:
        if blob is None:
            return int(conn.execute(sa.text("SELECT count(*) FROM reviews")).scalar_one())
        prefix = f"gs://{blob.bucket.name}/{blob.name}#{blob.generation}:"
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM reviews WHERE starts_with(source_key, :p)"),
                {"p": prefix},
            ).scalar_one()
        )


def assert_aggregates_exact() -> None:
    """The maintained per-movie aggregates equal a recomputation from the reviews."""
    maintained = """
        SELECT movie_id, review_count, positivity_sum, rating_sum, positive_count,
               neutral_count, negative_count, rating_histogram
        FROM movie_ratings ORDER BY movie_id"""
    recomputed = """
        SELECT m.id, count(r.id), coalesce(sum(r.positivity::numeric), 0),
               coalesce(sum(r.rating::numeric), 0),
               count(r.id) FILTER (WHERE r.label = 'positive'),
               count(r.id) FILTER (WHERE r.label = 'neutral'),
               count(r.id) FILTER (WHERE r.label = 'negative'),
               ARRAY(SELECT count(x.id) FROM generate_series(1, 10) b
                     LEFT JOIN reviews x ON x.movie_id = m.id AND rating_bucket(x.rating) = b
                     GROUP BY b ORDER BY b)
        FROM movies m LEFT JOIN reviews r ON r.movie_id = m.id
        GROUP BY m.id ORDER BY m.id"""
    with db.transaction() as conn:
        left = [tuple(row) for row in conn.execute(sa.text(maintained))]
        right = [tuple(row) for row in conn.execute(sa.text(recomputed))]
    assert left == right


def assert_no_duplicate_keys() -> None:
    with db.transaction() as conn:
        dupes = conn.execute(
            sa.text("SELECT count(*) - count(DISTINCT source_key) FROM reviews")
        ).scalar_one()
    assert dupes == 0


def assert_exact(blob: Any, lines: int, rejected: int, kept: int | None = None) -> dict[str, Any]:
    """The exactly-once invariant for one object: lines = inserted + rejected, no dupes;
    `kept` of the rejected lines (all by default) kept within the reject caps."""
    row = ledger_row(blob)
    assert row is not None
    assert row["status"] == "done", row
    assert row["lines"] == lines
    assert row["rejected"] == rejected
    assert row["inserted"] == lines - rejected - row["duplicates"]
    assert review_count(blob) == row["inserted"]
    with db.transaction() as conn:
        rejects = conn.execute(
            sa.text(
                "SELECT count(*) FROM upload_rejects WHERE bucket = :b AND object = :o "
                "AND generation = :g"
            ),
            {"b": blob.bucket.name, "o": blob.name, "g": blob.generation},
        ).scalar_one()
    assert rejects == row["rejects_kept"] == (rejected if kept is None else kept)
    assert_no_duplicate_keys()
    assert_aggregates_exact()
    return row


def use_model(monkeypatch: Any) -> None:
    """Score with the committed model (settings.model_uri), loaded once per session."""
    try:
        get_scorer()
    except ModelUnavailable:
        reset_scorer()
        raise


def settings_env(monkeypatch: Any, **env: object) -> None:
    """Set these settings for the rest of the test (read again on next use)."""
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()


def read_json(gcs: Any, name: str, bucket: str = BUCKET) -> Any:
    return json.loads(gcs.bucket(bucket).blob(name).download_as_bytes())


def read_rejects(gcs: Any, name: str, bucket: str = BUCKET) -> list[Any]:
    text = gcs.bucket(bucket).blob(name).download_as_text()
    return [json.loads(line) for line in text.splitlines()]


def failed_report(gcs: Any, client: Any, blob: Any, **event_args: Any) -> Any:
    """Deliver `blob`'s event once: acknowledged, with a failed ledger row and report."""
    response = deliver(client, event_for(blob, **event_args))
    assert response.status_code == 200, response.get_data(as_text=True)
    row = ledger_row(blob)
    assert row is not None and row["status"] == "failed"
    report = read_json(gcs, f"reports/{blob.name}.json")
    assert report["status"] == "failed" and report["error"] == row["error"]
    return report


class CountingScorer:
    """Wraps a scorer, counts batches, and can run a hook before a given call."""

    def __init__(
        self, base: ScoreFn, hook: Callable[[], object] | None = None, on_call: int = 0
    ) -> None:
        self.base, self.hook, self.on_call, self.calls = base, hook, on_call, 0

    def __call__(self, texts: list[str]) -> Sequence[Scored]:
        self.calls += 1
        if self.hook and self.calls == self.on_call:
            self.hook()
        return self.base(texts)


@contextlib.contextmanager
def unpinned_storage(monkeypatch: Any) -> Iterator[Any]:
    """A store that serves the live object whatever generation is asked for: the published
    gcp-storage-emulator, which `make run` used until issue 23 (its "done" on 5,334 lines of
    40,000), in a process of its own; the instance's storage client points at it."""
    from infra.localpg import free_port

    port = free_port()
    command = [sys.executable, "-m", "gcp_storage_emulator", "start", "--port", str(port)]
    process = subprocess.Popen([*command, "--in-memory", "--quiet"])
    try:
        host = f"http://127.0.0.1:{port}"
        _wait_until_answering(host)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", host)
        storage.reset()
        yield storage.get_client()
    finally:
        process.terminate()
        process.wait(timeout=30)
        storage.reset()


def _wait_until_answering(host: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{host}/storage/v1/b", timeout=1)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
