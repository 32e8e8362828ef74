"""From model outputs to label, confidence and rating (documented in model/README.md).

* ``label``: ``negative`` if positivity < low, ``positive`` if positivity >= high,
  otherwise ``neutral`` (the neutral band [low, high) is chosen on dev).
* ``confidence`` with a rating head: the rating-head probability mass of the
  chosen label's rating region (1-4 negative, 5-8 neutral, 9-10 positive).
  Without one: P(positive) for positive, 1 - P(positive) for negative and
  1 - |2 P(positive) - 1| for neutral.
* ``rating``: the expected rating sum(k * p_k) under the 1..10 softmax, or
  ``1 + 9 * positivity`` for models without a rating head.
"""

from __future__ import annotations

import numpy as np

LABELS = ("negative", "neutral", "positive")
RATING_REGIONS = ((0, 4), (4, 8), (8, 10))  # slices of the 1..10 softmax per label


def band_labels(positivity: np.ndarray, low: float, high: float) -> np.ndarray:
    """Label index per row: 0 negative, 1 neutral, 2 positive."""
    return np.where(positivity < low, 0, np.where(positivity >= high, 2, 1))


def confidences(
    labels: np.ndarray, positivity: np.ndarray, rating_probs: np.ndarray | None
) -> np.ndarray:
    """Confidence of each chosen label (see module docstring)."""
    if rating_probs is not None:
        mass = np.stack([rating_probs[:, a:b].sum(axis=1) for a, b in RATING_REGIONS], axis=1)
        return mass[np.arange(len(labels)), labels]
    neutral = 1.0 - np.abs(2.0 * positivity - 1.0)
    return np.choose(labels, [1.0 - positivity, neutral, positivity])


def ratings(positivity: np.ndarray, rating_probs: np.ndarray | None) -> np.ndarray:
    """Expected rating in [1, 10]."""
    if rating_probs is not None:
        return rating_probs @ np.arange(1, rating_probs.shape[1] + 1, dtype=np.float32)
    return 1.0 + 9.0 * positivity
