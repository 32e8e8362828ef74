"""Teacher outputs and distillation targets on disk (under ``.local/``, never committed).

Every teacher writes, for each split, one ``.npz`` with P(positive) and the 10-way rating
distribution of every review, in the row order of ``model.data.read_reviews`` on the
corpus file, plus the gold ratings so that a file from another row order is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.paths import REPO_ROOT

LOCAL_DIR = REPO_ROOT / ".local"
TEACHERS_DIR = LOCAL_DIR / "teachers"
SOFT_DIR = LOCAL_DIR / "soft-targets"
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class SoftTargets:
    """P(positive) (n,) and rating distributions (n, 10) per review, with gold ratings."""

    positivity: np.ndarray
    rating_probs: np.ndarray
    ratings: np.ndarray

    def __len__(self) -> int:
        return len(self.ratings)

    def check_rows(self, ratings: np.ndarray, what: str) -> None:
        """Refuse targets computed on other rows than ``ratings``."""
        if len(ratings) != len(self) or not np.array_equal(ratings, self.ratings):
            raise ValueError(f"{what}: soft targets do not match the data's rows")


def teacher_file(name: str, split: str, root: Path = TEACHERS_DIR) -> Path:
    return root / name / f"{split}.npz"


def save(path: Path, targets: SoftTargets) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        positivity=targets.positivity.astype(np.float32),
        rating_probs=targets.rating_probs.astype(np.float32),
        ratings=targets.ratings.astype(np.int64),
    )
    tmp.replace(path)


def load(path: Path) -> SoftTargets:
    with np.load(path) as data:
        return SoftTargets(data["positivity"], data["rating_probs"], data["ratings"])
