"""Metrics shared by training, band selection, evaluation and baselines."""

from __future__ import annotations

import numpy as np

from model.data import balanced_index, polarity, three_class

LABELS = ("negative", "neutral", "positive")


def balanced_accuracy(positivity: np.ndarray, ratings: np.ndarray, seed: int = 0) -> float:
    """Accuracy of ``positivity >= 0.5`` on an equal-sized sample of 1-4 and 9-10 rows."""
    index = balanced_index(ratings, seed)
    gold = polarity(ratings[index])
    return float(np.mean((positivity[index] >= 0.5) == (gold == 1.0)))


def band_labels(positivity: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 negative below ``low``, 2 positive at or above ``high``, 1 neutral between."""
    return np.where(positivity < low, 0, np.where(positivity >= high, 2, 1))


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
