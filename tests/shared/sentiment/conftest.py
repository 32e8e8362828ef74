"""Fixtures for the runtime scorer: the committed artifact, loaded once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.sentiment import Scorer, load_scorer, reset_scorer
from shared.settings import get_settings

REPO = Path(__file__).resolve().parents[3]


def committed_artifact() -> Path:
    """The one trained artifact committed under model/artifacts/<version>/."""
    found = sorted(p.parent for p in (REPO / "model" / "artifacts").glob("*/manifest.json"))
    assert len(found) == 1, f"expected exactly one committed artifact, found {found}"
    return found[0]


@pytest.fixture(scope="session")
def artifact_dir() -> Path:
    return committed_artifact()


@pytest.fixture(scope="session")
def scorer(artifact_dir: Path) -> Scorer:
    return load_scorer(str(artifact_dir), threads=1)


@pytest.fixture
def model_uri(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Call with a URI: points settings.model_uri at it with a fresh singleton."""

    def use(uri: str) -> None:
        monkeypatch.setenv("MODEL_URI", uri)
        get_settings.cache_clear()
        reset_scorer()

    yield use
    reset_scorer()
    monkeypatch.delenv("MODEL_URI", raising=False)
    get_settings.cache_clear()
