"""Reading the review corpus (gzipped TSV with a header row)."""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLUMNS = ("review_id", "movie_id", "date", "rating", "text")
NEGATIVE_MAX = 4  # ratings 1..4 are negative
POSITIVE_MIN = 9  # ratings 9..10 are positive


@dataclass(frozen=True)
class Reviews:
    """Texts with their 1..10 ratings, in file order."""

    texts: list[str]
    ratings: np.ndarray  # int64, shape (n,)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: np.ndarray) -> Reviews:
        """The reviews at ``index`` (in that order)."""
        return Reviews([self.texts[i] for i in index], self.ratings[index])


def read_reviews(path: str | Path, limit: int | None = None) -> Reviews:
    """Read a ``reviews-*.tsv.gz`` file; rows with an empty text are skipped."""
    texts: list[str] = []
    ratings: list[int] = []
    csv.field_size_limit(1 << 24)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        if tuple(header) != COLUMNS:
            raise ValueError(f"{path}: unexpected header {header!r}, want {COLUMNS!r}")
        for row in reader:
            if len(row) != len(COLUMNS) or not row[4].strip():
                continue
            texts.append(row[4])
            ratings.append(int(row[3]))
            if limit is not None and len(texts) >= limit:
                break
    return Reviews(texts, np.asarray(ratings, dtype=np.int64))


def polarity(ratings: np.ndarray) -> np.ndarray:
    """1.0 for positive (9..10), 0.0 for negative (1..4), NaN for neutral (5..8)."""
    out = np.full(ratings.shape, np.nan, dtype=np.float32)
    out[ratings <= NEGATIVE_MAX] = 0.0
    out[ratings >= POSITIVE_MIN] = 1.0
    return out


def three_class(ratings: np.ndarray) -> np.ndarray:
    """Gold labels as indices into ``("negative", "neutral", "positive")``."""
    return np.where(ratings <= NEGATIVE_MAX, 0, np.where(ratings >= POSITIVE_MIN, 2, 1))


def fold_ids(n: int, folds: int, seed: int = 0) -> np.ndarray:
    """The cross-fitting fold (0..folds-1) of each of ``n`` rows; the same for every teacher."""
    return np.random.default_rng(seed).integers(0, folds, n)


def balanced_index(ratings: np.ndarray, seed: int = 0) -> np.ndarray:
    """Equal numbers of negative and positive rows, sampled with a fixed seed."""
    rng = np.random.default_rng(seed)
    neg = np.flatnonzero(ratings <= NEGATIVE_MAX)
    pos = np.flatnonzero(ratings >= POSITIVE_MIN)
    n = min(len(neg), len(pos))
    picked = np.concatenate([rng.choice(neg, n, replace=False), rng.choice(pos, n, replace=False)])
    return np.sort(picked)
