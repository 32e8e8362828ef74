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
    assert confidence.tolist() == pytest.approx([0.35, 0.5])  # unit weights: the masses
    neutral_shy = RegionDecision((1.0, 0.5, 1.0))
    labels, confidence = neutral_shy.decide(np.zeros(2), probs)
    assert labels.tolist() == [2, 0]
    # the weighted posterior: 0.35 / (0.30 + 0.175 + 0.35) and 0.5 / (0.5 + 0.05 + 0.4)
    assert confidence.tolist() == pytest.approx([0.35 / 0.825, 0.5 / 0.95])


def test_confidence_is_never_below_an_alternative() -> None:
    """The shown confidence is the largest share of the decision's posterior (issue 21)."""
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.full(10, 0.4), size=2000)
    for decision in (
        RegionDecision((1.8, 1.45, 1.0), 1.12),
        RegionDecision((1.8, 1.45, 1.0), 1.12, 0.5),
        RegionDecision((3.0, 0.5, 1.0), 0.7, 2.5),
    ):
        labels, confidence = decision.decide(np.zeros(len(probs)), probs)
        pi = decision.posterior(probs)
        assert pi.sum(axis=1) == pytest.approx(np.ones(len(probs)))
        assert labels.tolist() == pi.argmax(axis=1).tolist()
        assert confidence == pytest.approx(pi.max(axis=1))
        assert np.all(confidence >= 1 / 3 - 1e-12)
        # the label is the weighted argmax of the calibrated region masses
        masses = decision.calibrated_masses(probs) * np.asarray(decision.weights)
        assert labels.tolist() == masses.argmax(axis=1).tolist()


def test_confidence_temperature_sharpens_or_flattens_without_changing_labels() -> None:
    probs = distribution({1: 0.3, 6: 0.3, 10: 0.4})
    base = RegionDecision((1.0, 1.0, 1.0))
    sharp = RegionDecision((1.0, 1.0, 1.0), 1.0, 0.5)
    flat = RegionDecision((1.0, 1.0, 1.0), 1.0, 2.0)
    confidences = [d.decide(np.zeros(1), probs) for d in (flat, base, sharp)]
    assert [labels.tolist() for labels, _ in confidences] == [[2]] * 3
    assert confidences[0][1][0] < 0.4 < confidences[2][1][0]
    assert confidences[2][1][0] == pytest.approx(0.16 / (0.09 + 0.09 + 0.16))


def test_extreme_temperatures_stay_finite() -> None:
    probs = distribution({1: 1e-9, 5: 1e-9, 10: 1 - 2e-9}, {3: 0.5, 4: 0.5})
    for decision in (RegionDecision((1, 1, 1), 0.05, 0.05), RegionDecision((1, 1, 1), 20, 20)):
        labels, confidence = decision.decide(np.zeros(2), probs)
        assert np.all(np.isfinite(confidence)) and np.all((confidence > 0) & (confidence <= 1))
        assert labels.tolist() == [2, 0]


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
    assert median_ratings(distribution({10: 1.0}, {1: 1.0})).tolist() == [10.0, 1.0]
    assert ratings(np.zeros(3), probs, RATING_MEDIAN).tolist() == [10.0, 1.0, 8.0]
    expected = ratings(np.zeros(3), probs, RATING_EXPECTED)
    assert expected.tolist() == pytest.approx([5.95, 5.5, 6.2])


@pytest.mark.parametrize(
    "data",
    [
        {"method": "regions", "weights": [1.0, 1.0], "temperature": 1.0},
        {"method": "regions", "weights": [1.0, 0.0, 1.0], "temperature": 1.0},
        {"method": "regions", "weights": [1.0, 1.0, 1.0], "temperature": 0.0},
        {
            "method": "regions",
            "weights": [1.0, 1.0, 1.0],
            "temperature": 1.0,
            "confidence_temperature": 0.0,
        },
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
    assert new.decision == RegionDecision((1.5, 1.2, 1.0), 1.3, 1.0)  # v3: no confidence T
    assert "neutral_band" not in new.to_dict()
    calibrated = Manifest.from_bytes(
        manifest_bytes(
            decision={
                "method": "regions",
                "weights": [1.5, 1.2, 1.0],
                "temperature": 1.3,
                "confidence_temperature": 0.9,
            },
            rating="median",
        )
    )
    assert calibrated.decision == RegionDecision((1.5, 1.2, 1.0), 1.3, 0.9)
    for manifest in (old, new, calibrated):
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
