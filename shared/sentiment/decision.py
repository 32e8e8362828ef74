"""From model outputs to label, confidence and rating (documented in model/README.md).

This module owns the label names and every decision rule; model code imports them.

Two label decisions, named by the manifest:

* ``RegionDecision`` (current artifacts): the rating head's 1..10 distribution is
  temperature-scaled (calibration), summed into the three rating regions 1-4 / 5-8 /
  9-10, and the label is the region with the largest ``weight * mass`` (weights chosen
  on dev for 3-class macro-F1). ``confidence`` is the calibrated mass of the returned
  label's region: the model's probability that the review's rating falls there.
* ``BandDecision`` (older artifacts and converted models without a rating head):
  ``negative`` if positivity < low, ``positive`` if positivity >= high, else
  ``neutral``. ``confidence`` is the rating head's mass of the label's region, or
  without one: P(positive), 1 - P(positive) and 1 - |2 P(positive) - 1|.

Three rating modes: ``median`` (the smallest k with P(rating <= k) >= 1/2: the
point estimate with the least expected absolute error), ``expected`` (sum k p_k) and
``linear`` (1 + 9 positivity, for models without a rating head).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

LABELS = ("negative", "neutral", "positive")
RATING_REGIONS = ((0, 4), (4, 8), (8, 10))  # slices of the 1..10 distribution per label
RATING_MEDIAN = "median"
RATING_EXPECTED = "expected"
RATING_LINEAR = "linear"
RATING_MODES = (RATING_MEDIAN, RATING_EXPECTED, RATING_LINEAR)
_TINY = 1e-12


def band_labels(positivity: np.ndarray, low: float, high: float) -> np.ndarray:
    """Label index per row: 0 negative, 1 neutral, 2 positive."""
    return np.where(positivity < low, 0, np.where(positivity >= high, 2, 1))


def region_masses(rating_probs: np.ndarray) -> np.ndarray:
    """(n, 3) probability of each label's rating region."""
    return np.stack([rating_probs[:, a:b].sum(axis=1) for a, b in RATING_REGIONS], axis=1)


def tempered(rating_probs: np.ndarray, temperature: float) -> np.ndarray:
    """The distribution with its logits divided by ``temperature`` (p ** (1/T), renormalised)."""
    if temperature == 1.0:
        return rating_probs
    logits = np.log(np.maximum(rating_probs, _TINY)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled: np.ndarray = np.exp(logits)
    scaled /= scaled.sum(axis=1, keepdims=True)
    return scaled


def pick(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise argmax index and the row indices, for fancy indexing."""
    return scores.argmax(axis=1), np.arange(len(scores))


@dataclass(frozen=True)
class BandDecision:
    """A neutral band [low, high) on positivity (see module docstring)."""

    low: float
    high: float

    def validate(self) -> None:
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ValueError(f"invalid neutral band ({self.low}, {self.high})")

    def decide(
        self, positivity: np.ndarray, rating_probs: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(label index, confidence) per row."""
        labels = band_labels(positivity, self.low, self.high)
        if rating_probs is not None:
            return labels, region_masses(rating_probs)[np.arange(len(labels)), labels]
        neutral = 1.0 - np.abs(2.0 * positivity - 1.0)
        return labels, np.choose(labels, [1.0 - positivity, neutral, positivity])

    def to_dict(self) -> dict[str, Any]:
        return {"method": "band", "low": self.low, "high": self.high}


@dataclass(frozen=True)
class RegionDecision:
    """Weighted argmax over calibrated rating-region masses (see module docstring)."""

    weights: tuple[float, float, float]
    temperature: float = 1.0

    def validate(self) -> None:
        if len(self.weights) != len(LABELS) or min(self.weights) <= 0.0:
            raise ValueError(f"region weights must be 3 positive numbers, got {self.weights}")
        if not 0.05 <= self.temperature <= 20.0:
            raise ValueError(f"temperature out of range: {self.temperature}")

    def calibrated_masses(self, rating_probs: np.ndarray) -> np.ndarray:
        return region_masses(tempered(rating_probs, self.temperature))

    def decide(
        self, positivity: np.ndarray, rating_probs: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(label index, confidence) per row; needs the rating head."""
        if rating_probs is None:
            raise ValueError("the region decision needs rating probabilities")
        masses = self.calibrated_masses(rating_probs)
        labels, rows = pick(masses * np.asarray(self.weights))
        return labels, masses[rows, labels]

    def to_dict(self) -> dict[str, Any]:
        return {"method": "regions", "weights": list(self.weights), "temperature": self.temperature}


Decision = BandDecision | RegionDecision


def decision_from_dict(data: dict[str, Any]) -> Decision:
    """Parse a manifest's ``decision`` object; raises ValueError, KeyError or TypeError."""
    method = data.get("method")
    decision: Decision
    if method == "regions":
        weights = [float(x) for x in data["weights"]]
        if len(weights) != len(LABELS):
            raise ValueError(f"region weights must be 3 numbers, got {weights}")
        decision = RegionDecision((weights[0], weights[1], weights[2]), float(data["temperature"]))
    elif method == "band":
        decision = BandDecision(float(data["low"]), float(data["high"]))
    else:
        raise ValueError(f"unknown decision method {method!r}")
    decision.validate()
    return decision


def median_ratings(rating_probs: np.ndarray) -> np.ndarray:
    """The smallest rating k with P(rating <= k) >= 1/2, per row (1..10)."""
    below_half = np.cumsum(rating_probs, axis=1) < 0.5 - 1e-6
    median: np.ndarray = below_half.sum(axis=1).astype(np.float64) + 1.0
    return median


def ratings(positivity: np.ndarray, rating_probs: np.ndarray | None, mode: str) -> np.ndarray:
    """Predicted rating in [1, 10] under the manifest's rating ``mode``."""
    if mode == RATING_LINEAR or rating_probs is None:
        return 1.0 + 9.0 * positivity
    if mode == RATING_MEDIAN:
        return median_ratings(rating_probs)
    return rating_probs @ np.arange(1, rating_probs.shape[1] + 1, dtype=np.float64)
