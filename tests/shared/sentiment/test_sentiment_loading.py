"""Loading artifacts through google-cloud-storage (emulator) and local folders; failures."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared import storage
from shared.errors import ModelUnavailable
from shared.sentiment import get_scorer, load_scorer
from shared.sentiment.artifact import ArtifactError
from shared.sentiment.runtime import RETRY_BACKOFF_S

TEXTS = ["정말 재밌고 감동적인 영화", "시간 아까운 최악의 영화"]


def artifact_files(artifact: Path) -> list[str]:
    """Every file the manifest lists, then the manifest."""
    manifest = json.loads((artifact / "manifest.json").read_text(encoding="utf-8"))
    return [*manifest["files"], "manifest.json"]


def upload(
    gcs: Any, artifact: Path, prefix: str, corrupt: str | None = None, skip: str | None = None
) -> str:
    bucket = gcs.lookup_bucket("models") or gcs.create_bucket("models")
    for name in artifact_files(artifact):
        if name == skip:
            continue
        data = bytearray((artifact / name).read_bytes())
        if name == corrupt:
            data[len(data) // 2] ^= 0x01
        bucket.blob(f"{prefix}{name}").upload_from_string(bytes(data))
    return f"gs://models/{prefix}"


def test_loads_from_gcs_like_local(gcs: Any, artifact_dir: Path) -> None:
    uri = upload(gcs, artifact_dir, "sentiment/v1/")
    remote = load_scorer(uri).score(TEXTS)
    local = load_scorer(str(artifact_dir)).score(TEXTS)
    assert remote == local
    assert [r.label for r in remote] == ["positive", "negative"]


def test_get_scorer_from_gcs_is_a_singleton(
    gcs: Any, artifact_dir: Path, model_uri: Callable[[str], None]
) -> None:
    model_uri(upload(gcs, artifact_dir, "sentiment/v2/"))
    first = get_scorer()
    assert get_scorer() is first
    assert first.score(TEXTS)[0].label == "positive"


@pytest.mark.parametrize("corrupt", ["model.onnx", "tokenizer.json"])
def test_corrupted_file_is_unavailable(
    gcs: Any, artifact_dir: Path, corrupt: str, model_uri: Callable[[str], None]
) -> None:
    model_uri(upload(gcs, artifact_dir, f"sentiment/bad-{corrupt}/", corrupt=corrupt))
    start = time.monotonic()
    with pytest.raises(ModelUnavailable, match=f"{corrupt}.*corrupted") as info:
        get_scorer()
    assert time.monotonic() - start < 5
    assert info.value.status == 503
    assert info.value.headers["Retry-After"]


@pytest.mark.parametrize("skip", ["manifest.json", "model.onnx"])
def test_missing_file_is_unavailable(
    gcs: Any, artifact_dir: Path, skip: str, model_uri: Callable[[str], None]
) -> None:
    model_uri(upload(gcs, artifact_dir, f"sentiment/missing-{skip}/", skip=skip))
    with pytest.raises(ModelUnavailable, match=f"{skip} not found"):
        get_scorer()


def test_missing_bucket_or_local_folder(
    gcs: Any, tmp_path: Path, model_uri: Callable[[str], None]
) -> None:
    model_uri("gs://no-such-bucket/sentiment/v1/")
    with pytest.raises(ModelUnavailable, match="not found"):
        get_scorer()
    model_uri(str(tmp_path / "nothing-here"))
    with pytest.raises(ModelUnavailable, match=r"manifest\.json not found"):
        get_scorer()


def test_failed_load_is_retried_and_recovers(
    gcs: Any, artifact_dir: Path, model_uri: Callable[[str], None]
) -> None:
    model_uri("gs://models/sentiment/later/")
    with pytest.raises(ModelUnavailable):
        get_scorer()
    upload(gcs, artifact_dir, "sentiment/later/")
    time.sleep(RETRY_BACKOFF_S + 0.1)
    assert get_scorer().score(TEXTS)[0].label == "positive"


def test_unreachable_storage_fails_fast(
    monkeypatch: pytest.MonkeyPatch, model_uri: Callable[[str], None]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    storage.reset()  # the instance's client was built for the working emulator
    model_uri("gs://models/sentiment/v1/")
    start = time.monotonic()
    try:
        with pytest.raises(ModelUnavailable, match=r"cannot read manifest\.json"):
            get_scorer()
    finally:
        storage.reset()  # later tests build theirs for the working emulator again
    assert time.monotonic() - start < 20


def test_local_corruption_detected(tmp_path: Path, artifact_dir: Path) -> None:
    copy = tmp_path / "artifact"
    shutil.copytree(artifact_dir, copy)
    data = bytearray((copy / "model.onnx").read_bytes())
    data[100] ^= 0xFF
    (copy / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="corrupted"):
        load_scorer(str(copy))


def test_relative_uri_resolves_against_repo_root(artifact_dir: Path) -> None:
    relative = artifact_dir.relative_to(Path(__file__).resolve().parents[3])
    assert load_scorer(str(relative)).version == load_scorer(str(artifact_dir)).version


def test_lazy_session_created_once_under_concurrency(artifact_dir: Path) -> None:
    scorer = load_scorer(str(artifact_dir))
    sessions: list[object] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        scorer.score(TEXTS)
        sessions.append(scorer.engine.session)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(sessions) == 8
    assert all(s is sessions[0] for s in sessions)
