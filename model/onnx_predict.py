"""Running a bare ONNX graph + tokenizer over a review file via the runtime engine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.data import Reviews, read_reviews
from model.export import INPUT_NAMES, OUTPUT_NAMES
from shared.sentiment.decision import RATING_EXPECTED, ratings
from shared.sentiment.engine import Engine

DEFAULT_MAX_LENGTH = 128


def tokenizer_max_length(tokenizer_json: str) -> int:
    """The truncation length saved in a ``tokenizer.json`` text (set by ``model.tokenizer``)."""
    truncation = json.loads(tokenizer_json).get("truncation")
    return int(truncation["max_length"]) if truncation else DEFAULT_MAX_LENGTH


@dataclass(frozen=True)
class Predictions:
    """Per-review outputs in file order, with the gold ratings."""

    positivity: np.ndarray
    rating: np.ndarray
    rating_probs: np.ndarray | None
    gold: np.ndarray


def engine_for(onnx_path: Path, tokenizer_path: Path, threads: int = 2) -> Engine:
    tokenizer_json = tokenizer_path.read_text(encoding="utf-8")
    return Engine(
        onnx_path.read_bytes(),
        tokenizer_json,
        max_length=tokenizer_max_length(tokenizer_json),
        inputs=INPUT_NAMES,
        outputs=OUTPUT_NAMES,
        threads=threads,
        batch_size=256,
    )


def predict_reviews(engine: Engine, reviews: Reviews) -> Predictions:
    out = engine.run(reviews.texts)
    return Predictions(
        out.positivity,
        ratings(out.positivity, out.rating_probs, RATING_EXPECTED),
        out.rating_probs,
        reviews.ratings,
    )


def predict_file(
    onnx_path: Path, tokenizer_path: Path, data: Path, limit: int | None = None
) -> Predictions:
    """Predictions for every review in ``data`` (first ``limit`` rows if given)."""
    return predict_reviews(engine_for(onnx_path, tokenizer_path), read_reviews(data, limit))
