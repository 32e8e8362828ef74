"""Morpheme-segmented corpus copies line up with the originals row by row."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model import morphemes
from model.data import read_reviews

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "nsmc" / "reviews-dev.tsv.gz"


def test_copy_segments_every_text_and_keeps_the_rows(tmp_path: Path) -> None:
    copy = tmp_path / "reviews-dev.tsv.gz"

    morphemes.convert(FIXTURE, copy, workers=1)

    original, segmented = read_reviews(FIXTURE), read_reviews(copy)
    assert len(segmented) == len(original)
    np.testing.assert_array_equal(segmented.ratings, original.ratings)
    words = sum(len(t.split()) for t in original.texts)
    assert sum(len(t.split()) for t in segmented.texts) > 1.5 * words


def test_a_known_sentence_becomes_its_morphemes() -> None:
    (morphs,) = morphemes.segment(["영화가 정말 재밌었다"], workers=1)

    assert morphs.split()[:3] == ["영화", "가", "정말"]
