"""Label, confidence and rating rules, manifest decisions, and the padding width rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shared.sentiment.decision import (
    RATING_EXPECTED,
    RATING_LINEAR,
    RATING_MEDIAN,
    BandDecision,
    RegionDecision,
    band_labels,
    decision_from_dict,
    median_ratings,
    ratings,
    region_masses,
    tempered,
)
from shared.sentiment.engine import padded_width
from shared.sentiment.manifest import Manifest, ManifestError


def distribution(*rows: dict[int, float]) -> np.ndarray:
    """Rating distributions from {rating: probability} rows."""
    probs = np.zeros((len(rows), 10))
    for i, row in enumerate(rows):
        for rating, p in row.items():
            probs[i, rating - 1] = p
    return probs


def test_band_labels_edges() -> None:
    p = np.array([0.0, 0.29, 0.3, 0.69, 0.7, 1.0])
    assert band_labels(p, 0.3, 0.7).tolist() == [0, 0, 1, 1, 2, 2]


def test_band_confidence_is_mass_of_the_label_region() -> None:
    probs = distribution(*[{1: 0.2, 6: 0.3, 10: 0.5}] * 3)
    labels, confidence = BandDecision(0.3, 0.7).decide(np.array([0.1, 0.5, 0.9]), probs)
    assert labels.tolist() == [0, 1, 2]
    assert confidence.tolist() == pytest.approx([0.2, 0.3, 0.5])


def test_band_without_rating_head() -> None:
    p = np.array([0.1, 0.5, 0.9])
    labels, confidence = BandDecision(0.3, 0.7).decide(p, None)
    assert labels.tolist() == [0, 1, 2]
    assert confidence.tolist() == pytest.approx([0.9, 1.0, 0.9])
    assert ratings(p, None, RATING_LINEAR).tolist() == pytest.approx([1.9, 5.5, 9.1])


def test_region_decision_weights_tip_the_label() -> None:
    probs = distribution({2: 0.30, 6: 0.35, 9: 0.35}, {1: 0.5, 7: 0.1, 10: 0.4})
    plain = RegionDecision((1.0, 1.0, 1.0))
    labels, confidence = plain.decide(np.zeros(2), probs)
    assert labels.tolist() == [1, 0]  # ties go to the first region
    assert confidence.tolist() == pytest.approx([0.35, 0.5])
    neutral_shy = RegionDecision((1.0, 0.5, 1.0))
    labels, confidence = neutral_shy.decide(np.zeros(2), probs)
    assert labels.tolist() == [2, 0]
    assert confidence.tolist() == pytest.approx([0.35, 0.5])  # the mass, not the score


def test_temperature_flattens_or_sharpens_and_keeps_the_order() -> None:
    probs = distribution({1: 0.1, 5: 0.2, 10: 0.7})
    flat, sharp = tempered(probs, 2.0), tempered(probs, 0.5)
    assert flat.sum() == pytest.approx(1.0) and sharp.sum() == pytest.approx(1.0)
    assert flat[0, 9] < 0.7 < sharp[0, 9]
    assert np.argsort(flat[0]).tolist() == np.argsort(sharp[0]).tolist()
    assert tempered(probs, 1.0) is probs
    masses = RegionDecision((1.0, 1.0, 1.0), 2.0).calibrated_masses(probs)
    assert masses == pytest.approx(region_masses(flat))


def test_rating_modes() -> None:
    probs = distribution({1: 0.45, 10: 0.55}, {1: 0.5, 10: 0.5}, {3: 0.2, 4: 0.2, 8: 0.6})
    assert median_ratings(probs).tolist() == [10.0, 1.0, 8.0]
    assert ratings(np.zeros(3), probs, RATING_MEDIAN).tolist() == [10.0, 1.0, 8.0]
    expected = ratings(np.zeros(3), probs, RATING_EXPECTED)
    assert expected.tolist() == pytest.approx([5.95, 5.5, 6.2])


@pytest.mark.parametrize(
    "data",
    [
        {"method": "regions", "weights": [1.0, 1.0], "temperature": 1.0},
        {"method": "regions", "weights": [1.0, 0.0, 1.0], "temperature": 1.0},
        {"method": "regions", "weights": [1.0, 1.0, 1.0], "temperature": 0.0},
        {"method": "band", "low": 0.8, "high": 0.2},
        {"method": "vote"},
    ],
)
def test_invalid_decisions_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        decision_from_dict(data)


def manifest_bytes(**fields: object) -> bytes:
    base: dict[str, object] = {
        "name": "m",
        "version": "v",
        "max_length": 128,
        "inputs": ["input_ids", "attention_mask"],
        "outputs": ["positivity", "rating_probs"],
        "files": {"model.onnx": "0" * 64, "tokenizer.json": "1" * 64},
    }
    return json.dumps(base | fields).encode()


def test_manifest_reads_both_decision_forms_and_round_trips() -> None:
    old = Manifest.from_bytes(manifest_bytes(neutral_band={"low": 0.2, "high": 0.8}))
    assert old.decision == BandDecision(0.2, 0.8)
    assert old.rating == RATING_EXPECTED
    new = Manifest.from_bytes(
        manifest_bytes(
            decision={"method": "regions", "weights": [1.5, 1.2, 1.0], "temperature": 1.3},
            rating="median",
        )
    )
    assert new.decision == RegionDecision((1.5, 1.2, 1.0), 1.3)
    assert "neutral_band" not in new.to_dict()
    for manifest in (old, new):
        assert Manifest.from_bytes(manifest.to_bytes()) == manifest


def test_region_decision_needs_a_rating_head() -> None:
    with pytest.raises(ManifestError):
        Manifest.from_bytes(
            manifest_bytes(
                decision={"method": "regions", "weights": [1, 1, 1], "temperature": 1},
                outputs=["positivity"],
                rating="linear",
            )
        )


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
