"""Evaluate an artifact through the runtime scorer; prints one JSON line.

``python -m model.evaluate --artifact model/artifacts/<version> --data reviews-test.tsv.gz``

* ``nsmc_accuracy``: accuracy of positivity >= 0.5 on a balanced sample
  (equal numbers of 1-4 and 9-10 reviews, fixed seed),
* ``macro_f1``: 3-class macro-F1 of the served labels (ratings 5-8 neutral),
* ``rating_mae``: mean |served rating - true rating| over all reviews,
* ``confidence_ece``: expected calibration error of the served confidence as the
  probability that the served label is right (15 equal-width bins).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from model.data import Reviews, read_reviews, three_class
from model.metrics import (
    balanced_accuracy,
    confusion,
    expected_calibration_error,
    macro_f1,
    rating_mae,
)
from shared.sentiment import Scorer, load_scorer
from shared.sentiment.decision import LABELS
from shared.sentiment.manifest import MANIFEST


def score_arrays(scorer: Scorer, reviews: Reviews, chunk: int = 4096) -> dict[str, np.ndarray]:
    """Served positivity, label index, confidence and rating for every review."""
    results = []
    for start in range(0, len(reviews), chunk):
        results.extend(scorer.score(reviews.texts[start : start + chunk]))
    return {
        "positivity": np.array([r.positivity for r in results]),
        "label": np.array([LABELS.index(r.label) for r in results]),
        "confidence": np.array([r.confidence for r in results]),
        "rating": np.array([r.rating for r in results]),
    }


def evaluate(scorer: Scorer, reviews: Reviews) -> dict[str, Any]:
    """The metrics dictionary for ``reviews`` (see module docstring)."""
    start = time.perf_counter()
    served = score_arrays(scorer, reviews)
    seconds = time.perf_counter() - start
    gold = three_class(reviews.ratings)
    return {
        "model_version": scorer.version,
        "n": len(reviews),
        "nsmc_accuracy": round(balanced_accuracy(served["positivity"], reviews.ratings), 4),
        "macro_f1": round(macro_f1(gold, served["label"]), 4),
        "rating_mae": round(rating_mae(served["rating"], reviews.ratings), 4),
        "confidence_ece": round(
            expected_calibration_error(served["confidence"], served["label"] == gold), 4
        ),
        "confusion": confusion(gold, served["label"]).tolist(),
        "reviews_per_s": round(len(reviews) / seconds, 1),
    }


def update_manifest(artifact: Path, key: str, metrics: dict[str, Any]) -> None:
    """Store ``metrics`` under ``metrics[key]`` in the artifact's manifest."""
    path = artifact / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.setdefault("metrics", {})[key] = metrics
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifact", required=True, help="artifact folder or gs:// URI")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--update-manifest",
        metavar="KEY",
        default=None,
        help="also store the metrics in the (local) manifest under KEY",
    )
    args = parser.parse_args(argv)
    scorer = load_scorer(args.artifact, threads=args.threads)
    scorer.engine.batch_size = 256
    metrics = evaluate(scorer, read_reviews(args.data, args.limit))
    metrics["data"] = args.data.name
    if args.update_manifest:
        update_manifest(Path(args.artifact), args.update_manifest, metrics)
    print(json.dumps(metrics, ensure_ascii=False))


if __name__ == "__main__":
    main()
