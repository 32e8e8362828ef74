"""Where the corpus, run outputs and the committed artifacts live."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = REPO_ROOT / "model"
ARTIFACTS_DIR = MODEL_DIR / "artifacts"
RUNS_DIR = MODEL_DIR / "runs"


def data_dir() -> Path:
    """The NSMC-derived corpus folder (``NSMC_DIR`` or ``../shared/data/nsmc``)."""
    return Path(os.environ.get("NSMC_DIR", REPO_ROOT.parent / "shared" / "data" / "nsmc"))


def split_file(split: str) -> Path:
    """Path of ``reviews-<split>.tsv.gz`` in the corpus folder."""
    return data_dir() / f"reviews-{split}.tsv.gz"
