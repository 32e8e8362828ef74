"""The local GCS serves the generation asked for, through the real google-cloud-storage client."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import google_crc32c
import pytest
import requests
from google.api_core.exceptions import NotFound

from infra.localpg import free_port
from infra.storage_emulator import Emulator

V1 = b'{"movie_id": 1, "content": "first"}\n' * 3
V2 = b'{"movie_id": 2, "content": "second, longer"}\n' * 5


def crc32c(data: bytes) -> str:
    return base64.b64encode(google_crc32c.value(data).to_bytes(4, "big")).decode()


def md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def overwritten(gcs: Any, *, versioned: bool = True) -> tuple[Any, int, int]:
    """An object written twice; the bucket and both generations."""
    bucket = gcs.bucket("uploads")
    bucket.versioning_enabled = versioned
    bucket = gcs.create_bucket(bucket)
    blob = bucket.blob("a.jsonl")
    blob.upload_from_string(V1)
    first = blob.generation
    blob.upload_from_string(V2)
    return bucket, first, blob.generation


def test_buckets_are_versioned_as_terraform_creates_them_unless_told_otherwise(gcs: Any) -> None:
    assert gcs.create_bucket("plain").versioning_enabled is True
    off = gcs.bucket("off")
    off.versioning_enabled = False
    assert gcs.create_bucket(off).versioning_enabled is False
    assert gcs.get_bucket("off").versioning_enabled is False


def test_a_read_by_generation_serves_that_generation_after_an_overwrite(gcs: Any) -> None:
    bucket, first, second = overwritten(gcs)
    assert first < second
    assert bucket.blob("a.jsonl", generation=first).download_as_bytes() == V1
    assert bucket.blob("a.jsonl", generation=second).download_as_bytes() == V2
    assert bucket.blob("a.jsonl").download_as_bytes() == V2  # the live one
    assert bucket.blob("a.jsonl", generation=first).download_as_bytes(start=3, end=10) == V1[3:11]
    with bucket.blob("a.jsonl", generation=first).open("rb", chunk_size=256 * 1024) as reader:
        assert reader.read() == V1


def test_each_generation_keeps_its_own_size_and_checksums(gcs: Any) -> None:
    bucket, first, second = overwritten(gcs)
    for generation, data in ((first, V1), (second, V2)):
        blob = bucket.get_blob("a.jsonl", generation=generation)
        assert blob.generation == generation
        assert (blob.size, blob.crc32c, blob.md5_hash) == (len(data), crc32c(data), md5(data))
    # the media download's X-Goog-Hash is the generation's, which the client verifies
    assert bucket.blob("a.jsonl", generation=first).download_as_bytes(checksum="crc32c") == V1


def test_a_generation_that_is_gone_is_a_404(gcs: Any) -> None:
    bucket, first, second = overwritten(gcs)
    bucket.blob("a.jsonl", generation=first).delete()
    assert bucket.get_blob("a.jsonl", generation=first) is None
    with pytest.raises(NotFound, match="No such object"):
        bucket.blob("a.jsonl", generation=first).download_as_bytes()
    assert bucket.blob("a.jsonl", generation=second).download_as_bytes() == V2
    with pytest.raises(NotFound):
        bucket.blob("a.jsonl", generation=first).delete()


def test_an_unversioned_bucket_keeps_only_the_live_generation(gcs: Any) -> None:
    bucket, first, second = overwritten(gcs, versioned=False)
    assert bucket.get_blob("a.jsonl", generation=first) is None
    with pytest.raises(NotFound):
        bucket.blob("a.jsonl", generation=first).download_as_bytes()
    assert bucket.blob("a.jsonl", generation=second).download_as_bytes() == V2


def test_deleting_the_live_object_keeps_it_as_a_noncurrent_generation(gcs: Any) -> None:
    bucket, first, second = overwritten(gcs)
    bucket.blob("a.jsonl").delete()
    assert bucket.get_blob("a.jsonl") is None
    assert bucket.blob("a.jsonl", generation=second).download_as_bytes() == V2
    listed = [(b.name, b.generation) for b in gcs.list_blobs("uploads", versions=True)]
    assert listed == [("a.jsonl", first), ("a.jsonl", second)]
    assert list(gcs.list_blobs("uploads")) == []
    bucket.delete(force=True)  # deletes every generation, then the bucket
    assert gcs.lookup_bucket("uploads") is None


def test_finalized_generations_are_fed_in_order_even_when_gone(gcs: Any, gcs_emulator: str) -> None:
    feed = f"{gcs_emulator}/_stand-in/b/uploads/finalized"
    bucket, first, second = overwritten(gcs, versioned=False)  # the first is gone already
    page = requests.get(feed, params={"since": 0}, timeout=10).json()
    assert [(o["name"], int(o["generation"])) for o in page["items"]] == [
        ("a.jsonl", first),
        ("a.jsonl", second),
    ]
    assert page["items"][0]["size"] == str(len(V1))
    bucket.blob("b.csv").upload_from_string(b"movie_id,author,content\n")
    later = requests.get(feed, params={"since": page["next"]}, timeout=10).json()
    assert [o["name"] for o in later["items"]] == ["b.csv"]


def test_generations_survive_a_restart_of_the_emulator(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import storage

    for run in range(2):
        port = free_port()
        server = Emulator("127.0.0.1", port, in_memory=False, data_dir=str(tmp_path))
        server.start()
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
        storage.reset()
        try:
            client = storage.get_client()
            if run == 0:
                _, first, _ = overwritten(client)
            else:
                old = client.bucket("uploads").blob("a.jsonl", generation=first)
                assert old.download_as_bytes() == V1
        finally:
            server.stop()
            storage.reset()
