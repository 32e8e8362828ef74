"""Metrics shared by training, band selection, evaluation and baselines."""

from __future__ import annotations

import numpy as np

from model.data import balanced_index, polarity, three_class
from shared.sentiment.decision import RegionDecision, band_labels, region_masses, tempered

# Grids searched on dev: temperatures (log-spaced) and the negative/neutral weights
# against a positive weight of 1.
TEMPERATURES = np.round(np.exp(np.linspace(np.log(0.5), np.log(3.0), 61)), 4)
REGION_WEIGHTS = np.round(np.arange(0.5, 3.01, 0.05), 2)
CONFIDENCE_TEMPERATURES = np.round(np.exp(np.linspace(np.log(0.25), np.log(4.0), 81)), 4)
ECE_BINS = 15


def balanced_accuracy(positivity: np.ndarray, ratings: np.ndarray, seed: int = 0) -> float:
    """Accuracy of ``positivity >= 0.5`` on an equal-sized sample of 1-4 and 9-10 rows."""
    index = balanced_index(ratings, seed)
    gold = polarity(ratings[index])
    return float(np.mean((positivity[index] >= 0.5) == (gold == 1.0)))


def macro_f1(gold: np.ndarray, pred: np.ndarray, n_classes: int = 3) -> float:
    """Unweighted mean of per-class F1."""
    scores = []
    for k in range(n_classes):
        tp = np.sum((pred == k) & (gold == k))
        fp = np.sum((pred == k) & (gold != k))
        fn = np.sum((pred != k) & (gold == k))
        scores.append(2 * tp / max(2 * tp + fp + fn, 1))
    return float(np.mean(scores))


def confusion(gold: np.ndarray, pred: np.ndarray, n_classes: int = 3) -> np.ndarray:
    """Rows gold, columns predicted."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (gold, pred), 1)
    return matrix


def choose_band(positivity: np.ndarray, ratings: np.ndarray) -> tuple[float, float, float]:
    """Grid-search the neutral band maximising 3-class macro-F1; returns (low, high, f1)."""
    gold = three_class(ratings)
    grid = np.round(np.arange(0.02, 0.99, 0.01), 2)
    best = (0.5, 0.5, -1.0)
    for low in grid:
        for high in grid[grid >= low]:
            f1 = macro_f1(gold, band_labels(positivity, float(low), float(high)))
            if f1 > best[2]:
                best = (float(low), float(high), f1)
    return best


def rating_mae(expected: np.ndarray, ratings: np.ndarray) -> float:
    """Mean absolute error of predicted vs true 1..10 ratings."""
    return float(np.mean(np.abs(expected - ratings)))


def region_nll(rating_probs: np.ndarray, gold: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of the gold 3-class label under tempered region masses."""
    masses = region_masses(tempered(rating_probs, temperature))
    return float(-np.mean(np.log(np.maximum(masses[np.arange(len(gold)), gold], 1e-12))))


def fit_temperature(rating_probs: np.ndarray, ratings: np.ndarray) -> float:
    """The temperature minimising the 3-class NLL of the region masses (calibration)."""
    gold = three_class(ratings)
    return float(min(TEMPERATURES, key=lambda t: region_nll(rating_probs, gold, float(t))))


def choose_decision(rating_probs: np.ndarray, ratings: np.ndarray) -> tuple[RegionDecision, float]:
    """Calibrate on ``ratings`` (dev), then grid-search region weights for macro-F1."""
    temperature = fit_temperature(rating_probs, ratings)
    masses = region_masses(tempered(rating_probs, temperature))
    gold = three_class(ratings)
    best: tuple[float, float, float] = (-1.0, 1.0, 1.0)
    for w_neg in REGION_WEIGHTS:
        for w_neu in REGION_WEIGHTS:
            pred = (masses * np.array([w_neg, w_neu, 1.0])).argmax(axis=1)
            f1 = macro_f1(gold, pred)
            if f1 > best[0]:
                best = (f1, float(w_neg), float(w_neu))
    decision = RegionDecision((best[1], best[2], 1.0), temperature)
    return fit_confidence_temperature(decision, rating_probs, ratings), best[0]


def posterior_nll(decision: RegionDecision, rating_probs: np.ndarray, gold: np.ndarray) -> float:
    """Mean negative log-likelihood of the gold 3-class label under the decision's posterior."""
    pi = decision.posterior(rating_probs)
    return float(-np.mean(np.log(np.maximum(pi[np.arange(len(gold)), gold], 1e-12))))


def fit_confidence_temperature(
    decision: RegionDecision, rating_probs: np.ndarray, ratings: np.ndarray
) -> RegionDecision:
    """``decision`` with the confidence temperature minimising the posterior's NLL on dev.

    The temperature rescales the posterior row by row without changing its argmax, so
    labels stay those of the decision while the shown confidence is calibrated.
    """
    gold = three_class(ratings)
    weights, temperature = decision.weights, decision.temperature
    best = min(
        CONFIDENCE_TEMPERATURES,
        key=lambda t: posterior_nll(
            RegionDecision(weights, temperature, float(t)), rating_probs, gold
        ),
    )
    return RegionDecision(weights, temperature, float(best))


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Sum over equal-width confidence bins of |accuracy - mean confidence| x bin share."""
    index = np.clip((confidence * bins).astype(np.int64), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            gap = abs(float(correct[chosen].mean()) - float(confidence[chosen].mean()))
            total += gap * float(chosen.sum()) / len(confidence)
    return float(total)
