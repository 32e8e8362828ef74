"""From model outputs to label, confidence and rating (documented in model/README.md).

This module owns the label names and every decision rule; model code imports them.

Two label decisions, named by the manifest:

* ``RegionDecision`` (current artifacts): the rating head's 1..10 distribution is
  temperature-scaled (calibration), summed into the three rating regions 1-4 / 5-8 /
  9-10, and the label is the region with the largest ``weight * mass`` (weights chosen
  on dev for 3-class macro-F1). The weights act as a prior shift, so the decision's own
  posterior is ``pi_k = (w_k m_k) ** (1/tau) / sum_j (w_j m_j) ** (1/tau)``, with the
  confidence temperature ``tau`` fitted on dev (NLL of the gold label). ``confidence``
  is ``pi`` of the returned label: the largest of the three, so never below an
  alternative's (and never below 1/3).
* ``BandDecision`` (older artifacts and converted models without a rating head):
  ``negative`` if positivity < low, ``positive`` if positivity >= high, else
  ``neutral``. ``confidence`` is the rating head's mass of the label's region, or
  without one: P(positive), 1 - P(positive) and 1 - |2 P(positive) - 1|.

Three rating modes: ``median`` (the smallest k with P(rating <= k) >= 1/2: the
point estimate with the least expected absolute error), ``expected`` (sum k p_k) and
``linear`` (1 + 9 positivity, for models without a rating head).

Every rule is a handful of whole-array operations, so a one-row batch (a single
review) costs microseconds: no Python loop over rows or regions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

LABELS = ("negative", "neutral", "positive")
RATING_REGIONS = ((0, 4), (4, 8), (8, 10))  # slices of the 1..10 distribution per label
# (10, 3) indicator of each rating's region: ``probs @ REGION_MATRIX`` sums the regions.
REGION_MATRIX = np.zeros((10, len(LABELS)))
for _label, (_start, _end) in enumerate(RATING_REGIONS):
    REGION_MATRIX[_start:_end, _label] = 1.0
# (10, 10) upper triangle of ones: ``probs @ CUMULATIVE`` is P(rating <= k) per row.
CUMULATIVE = np.triu(np.ones((10, 10)))
_ONES = np.ones(len(LABELS))
RATING_MEDIAN = "median"
RATING_EXPECTED = "expected"
RATING_LINEAR = "linear"
RATING_MODES = (RATING_MEDIAN, RATING_EXPECTED, RATING_LINEAR)


def band_labels(positivity: np.ndarray, low: float, high: float) -> np.ndarray:
    """Label index per row: 0 negative, 1 neutral, 2 positive."""
    return np.where(positivity < low, 0, np.where(positivity >= high, 2, 1))


def region_masses(rating_probs: np.ndarray) -> np.ndarray:
    """(n, 3) probability of each label's rating region."""
    masses: np.ndarray = rating_probs @ REGION_MATRIX
    return masses


def powered(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``probs ** (1/T)`` (for non-negative ``probs``), not renormalised."""
    if temperature == 1.0:
        return probs
    scaled: np.ndarray = probs ** (1.0 / temperature)
    return scaled


def tempered(rating_probs: np.ndarray, temperature: float) -> np.ndarray:
    """The distribution with its logits divided by ``temperature`` (p ** (1/T), renormalised)."""
    if temperature == 1.0:
        return rating_probs
    scaled = powered(rating_probs, temperature)
    normalised: np.ndarray = scaled / scaled.sum(axis=1, keepdims=True)
    return normalised


def sharpened(scores: np.ndarray, temperature: float) -> np.ndarray:
    """``scores ** (1/T)`` per row, up to a per-row factor (no underflow when T < 1)."""
    if temperature < 1.0:  # sharpening: scale each row's maximum to 1 first
        scores = scores / scores.max(axis=1, keepdims=True)
    return powered(scores, temperature)


def posterior(scores: np.ndarray, temperature: float) -> np.ndarray:
    """(n, 3) ``scores ** (1/T)`` normalised per row: a decision's own label distribution."""
    scaled = sharpened(scores, temperature)
    normalised: np.ndarray = scaled / (scaled @ _ONES)[:, None]
    return normalised


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
    confidence_temperature: float = 1.0

    def validate(self) -> None:
        if len(self.weights) != len(LABELS) or min(self.weights) <= 0.0:
            raise ValueError(f"region weights must be 3 positive numbers, got {self.weights}")
        for value in (self.temperature, self.confidence_temperature):
            if not 0.05 <= value <= 20.0:
                raise ValueError(f"temperature out of range: {value}")

    def calibrated_masses(self, rating_probs: np.ndarray) -> np.ndarray:
        return region_masses(tempered(rating_probs, self.temperature))

    @cached_property
    def _weighted_regions(self) -> np.ndarray:
        weighted: np.ndarray = REGION_MATRIX * np.asarray(self.weights)
        return weighted

    def scores(self, rating_probs: np.ndarray) -> np.ndarray:
        """(n, 3) ``w_k * m_k`` up to a per-row factor (one power and one matrix product)."""
        weighted: np.ndarray = powered(rating_probs, self.temperature) @ self._weighted_regions
        return weighted

    def posterior(self, rating_probs: np.ndarray) -> np.ndarray:
        """(n, 3) the decision's own label distribution ``pi`` (see module docstring)."""
        return posterior(self.scores(rating_probs), self.confidence_temperature)

    def decide(
        self, positivity: np.ndarray, rating_probs: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(label index, confidence) per row; needs the rating head.

        The same arithmetic as ``posterior`` without building it: the label is the
        argmax of the scores, its confidence that score's share after sharpening.
        """
        if rating_probs is None:
            raise ValueError("the region decision needs rating probabilities")
        scaled = sharpened(self.scores(rating_probs), self.confidence_temperature)
        labels = scaled.argmax(axis=1)
        confidence: np.ndarray = scaled[np.arange(len(labels)), labels] / (scaled @ _ONES)
        return labels, confidence

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "regions",
            "weights": list(self.weights),
            "temperature": self.temperature,
            "confidence_temperature": self.confidence_temperature,
        }


Decision = BandDecision | RegionDecision


def decision_from_dict(data: dict[str, Any]) -> Decision:
    """Parse a manifest's ``decision`` object; raises ValueError, KeyError or TypeError."""
    method = data.get("method")
    decision: Decision
    if method == "regions":
        weights = [float(x) for x in data["weights"]]
        if len(weights) != len(LABELS):
            raise ValueError(f"region weights must be 3 numbers, got {weights}")
        decision = RegionDecision(
            (weights[0], weights[1], weights[2]),
            float(data["temperature"]),
            float(data.get("confidence_temperature", 1.0)),
        )
    elif method == "band":
        decision = BandDecision(float(data["low"]), float(data["high"]))
    else:
        raise ValueError(f"unknown decision method {method!r}")
    decision.validate()
    return decision


def median_ratings(rating_probs: np.ndarray) -> np.ndarray:
    """The smallest rating k with P(rating <= k) >= 1/2, per row (1..10).

    The cumulative distribution is non-decreasing, so the first True of
    ``cdf >= 1/2`` (argmax of a boolean row) is the median's index.
    """
    reached = rating_probs @ CUMULATIVE >= 0.5 - 1e-6
    median: np.ndarray = reached.argmax(axis=1) + 1.0
    return median


def ratings(positivity: np.ndarray, rating_probs: np.ndarray | None, mode: str) -> np.ndarray:
    """Predicted rating in [1, 10] under the manifest's rating ``mode``."""
    if mode == RATING_LINEAR or rating_probs is None:
        return 1.0 + 9.0 * positivity
    if mode == RATING_MEDIAN:
        return median_ratings(rating_probs)
    expected = rating_probs @ np.arange(1, rating_probs.shape[1] + 1, dtype=np.float64)
    clipped: np.ndarray = np.clip(expected, 1.0, 10.0)  # float rounding of a sum of ~1
    return clipped
