"""Label, confidence and rating rules, and the padding width rule."""

from __future__ import annotations

import numpy as np
import pytest

from shared.sentiment.decision import band_labels, confidences, ratings
from shared.sentiment.engine import padded_width


def test_band_labels_edges() -> None:
    p = np.array([0.0, 0.29, 0.3, 0.69, 0.7, 1.0])
    assert band_labels(p, 0.3, 0.7).tolist() == [0, 0, 1, 1, 2, 2]


def test_confidence_is_mass_of_the_label_region() -> None:
    probs = np.zeros((3, 10))
    probs[:, 0], probs[:, 5], probs[:, 9] = 0.2, 0.3, 0.5
    labels = np.array([0, 1, 2])
    got = confidences(labels, np.array([0.1, 0.5, 0.9]), probs)
    assert got.tolist() == pytest.approx([0.2, 0.3, 0.5])
    assert ratings(np.zeros(3), probs).tolist() == pytest.approx([0.2 + 1.8 + 5.0] * 3)


def test_linear_mode_without_rating_head() -> None:
    p = np.array([0.1, 0.5, 0.9])
    assert confidences(np.array([0, 1, 2]), p, None).tolist() == pytest.approx([0.9, 1.0, 0.9])
    assert ratings(p, None).tolist() == pytest.approx([1.9, 5.5, 9.1])


@pytest.mark.parametrize(
    ("longest", "max_length", "width"),
    [
        (1, 128, 8),
        (8, 128, 8),
        (9, 128, 16),
        (127, 128, 128),
        (128, 128, 128),
        (123, 125, 125),
        (130, 128, 130),
    ],
)
def test_padded_width(longest: int, max_length: int, width: int) -> None:
    assert padded_width(longest, max_length) == width
