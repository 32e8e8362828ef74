"""The execution summary is created once: a second writer is done, never a replacement.

Against gcp-storage-emulator with the real google-cloud-storage client. The job's identity
may only create objects under rescores/ (roles/storage.objectCreator, tests/terraform), so in
the cloud a second upload of the same name without "only if absent" needs delete permission
and fails; with it, Cloud Storage answers 412, which the writer counts as done.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core.exceptions import PreconditionFailed
from google.cloud.storage import Blob

from shared.rescore import summary

BUCKET = "models"


def body(execution: str, rescored: int) -> dict[str, Any]:
    return {"execution": execution, "status": "done", "rescored": rescored}


@pytest.fixture
def bucket(gcs: Any) -> Iterator[Any]:
    yield gcs.create_bucket(BUCKET)


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every upload the code under test makes (the upload still runs)."""
    seen: list[dict[str, Any]] = []
    real = Blob.upload_from_string

    def recording(self: Blob, data: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append({"name": self.name, **kwargs})
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(Blob, "upload_from_string", recording)
    return seen


def honours_generation_match(bucket: Any) -> bool:
    """Whether this emulator refuses a create-only upload of an existing object, as GCS does."""
    probe = bucket.blob("probe/generation-match")
    probe.upload_from_string(b"1", if_generation_match=0)
    try:
        probe.upload_from_string(b"2", if_generation_match=0)
    except PreconditionFailed:
        return True
    return False


def test_the_summary_is_written_create_only_and_a_second_write_is_done(
    bucket: Any, uploads: list[dict[str, Any]]
) -> None:
    first = summary.write(BUCKET, body("exec-1", 10))
    again = summary.write(BUCKET, body("exec-1", 10))  # the other task, or a retry
    assert first == again == "gs://models/rescores/exec-1.json"
    assert [u["if_generation_match"] for u in uploads] == [0, 0]
    assert summary.read(BUCKET, "exec-1") == body("exec-1", 10)
    assert summary.read(BUCKET, "exec-2") is None


def test_an_existing_summary_is_kept_and_the_412_counts_as_done(bucket: Any) -> None:
    if not honours_generation_match(bucket):
        pytest.skip(
            "gcp-storage-emulator ignores ifGenerationMatch: the 412 path needs an emulator "
            "that keeps object generations"
        )
    summary.write(BUCKET, body("exec-1", 10))
    assert summary.write(BUCKET, body("exec-1", 99)) == "gs://models/rescores/exec-1.json"
    assert summary.read(BUCKET, "exec-1") == body("exec-1", 10)
