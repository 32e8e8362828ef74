"""model.publish against the GCS emulator: versioned upload, no overwrite, hashes first."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from model.publish import PublishError, main, publish
from shared.sentiment import load_scorer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    found = sorted(p.parent for p in (REPO / "model" / "artifacts").glob("*/manifest.json"))
    copy = tmp_path / found[0].name
    shutil.copytree(found[0], copy)
    return copy


def test_publish_then_load(gcs: Any, artifact: Path) -> None:
    gcs.create_bucket("models")
    uri = publish(artifact, "gs://models/sentiment/")
    version = load_scorer(str(artifact)).version
    assert uri == f"gs://models/sentiment/{version}/"
    names = {b.name for b in gcs.list_blobs("models")}
    files = json.loads((artifact / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert {"model.onnx", "tokenizer.json"} <= set(files)  # and any pooled member's file
    assert names == {f"sentiment/{version}/{n}" for n in [*files, "manifest.json"]}
    assert load_scorer(uri).score(["최고의 영화"])[0].label == "positive"


def test_refuses_to_overwrite_a_version(
    gcs: Any, artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gcs.create_bucket("models")
    publish(artifact, "gs://models/sentiment")
    with pytest.raises(PublishError, match="already exists"):
        publish(artifact, "gs://models/sentiment/")
    with pytest.raises(SystemExit):
        main([str(artifact), "gs://models/sentiment/"])
    assert "already exists" in capsys.readouterr().err


def test_refuses_a_single_existing_object(gcs: Any, artifact: Path) -> None:
    bucket = gcs.create_bucket("models")
    version = load_scorer(str(artifact)).version
    bucket.blob(f"sentiment/{version}/model.onnx").upload_from_string(b"someone else's")
    with pytest.raises(PublishError, match="already exists"):
        publish(artifact, "gs://models/sentiment/")
    assert bucket.blob(f"sentiment/{version}/model.onnx").download_as_bytes() == b"someone else's"


def test_refuses_a_corrupted_artifact(gcs: Any, artifact: Path) -> None:
    gcs.create_bucket("models")
    data = bytearray((artifact / "tokenizer.json").read_bytes())
    data[10] ^= 0x01
    (artifact / "tokenizer.json").write_bytes(bytes(data))
    with pytest.raises(PublishError, match="corrupted"):
        publish(artifact, "gs://models/sentiment/")
    assert list(gcs.list_blobs("models")) == []
