"""Step 5: assemble the artifact folder: INT8 model, tokenizer, manifest.

``python -m model.package --run model/runs/main --version nsmc-bilstm-v3-20261127``
Chooses the 3-class decision on dev with the INT8 outputs (temperature calibration of
the rating head, then region weights for macro-F1; see ``shared/sentiment/decision``),
checks INT8 vs FP32 label agreement on dev (>= 99.5% or the step fails) and writes
``manifest.json`` with sha256 of every file.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from model.data import read_reviews, three_class
from model.export import INPUT_NAMES, OUTPUT_NAMES
from model.metrics import (
    balanced_accuracy,
    choose_decision,
    expected_calibration_error,
    rating_mae,
)
from model.onnx_predict import engine_for, predict_reviews, tokenizer_max_length
from model.paths import ARTIFACTS_DIR, RUNS_DIR, split_file
from shared.sentiment.decision import RATING_MEDIAN, RegionDecision, ratings
from shared.sentiment.manifest import MANIFEST, Manifest, sha256

log = logging.getLogger(__name__)
MIN_AGREEMENT = 0.995
NAME = "nsmc-sentiment"


def quant_check(run: Path, dev: Path, decision: RegionDecision, limit: int | None) -> dict:
    """INT8 vs FP32 on dev: 3-class label agreement under ``decision`` and max |delta|."""
    reviews = read_reviews(dev, limit)
    tok = run / "tokenizer.json"
    fp32 = predict_reviews(engine_for(run / "model.fp32.onnx", tok), reviews)
    int8 = predict_reviews(engine_for(run / "model.int8.onnx", tok), reviews)
    labels_fp32, _ = decision.decide(fp32.positivity, fp32.rating_probs)
    labels_int8, _ = decision.decide(int8.positivity, int8.rating_probs)
    binary = (fp32.positivity >= 0.5) == (int8.positivity >= 0.5)
    delta = np.abs(fp32.positivity - int8.positivity)
    return {
        "n": len(reviews),
        "label_agreement": round(float(np.mean(labels_fp32 == labels_int8)), 5),
        "binary_agreement": round(float(np.mean(binary)), 5),
        "max_abs_delta_positivity": round(float(delta.max()), 5),
    }


def dev_selection(run: Path, dev: Path, limit: int | None) -> tuple[RegionDecision, dict]:
    """The 3-class decision chosen on dev with the INT8 model, and the dev metrics under it."""
    reviews = read_reviews(dev, limit)
    pred = predict_reviews(engine_for(run / "model.int8.onnx", run / "tokenizer.json"), reviews)
    if pred.rating_probs is None:
        raise SystemExit("the model has no rating head: package it with model.convert_hf")
    decision, f1 = choose_decision(pred.rating_probs, reviews.ratings)
    labels, confidence = decision.decide(pred.positivity, pred.rating_probs)
    correct = labels == three_class(reviews.ratings)
    served = ratings(pred.positivity, pred.rating_probs, RATING_MEDIAN)
    metrics = {
        "n": len(reviews),
        "nsmc_accuracy": round(balanced_accuracy(pred.positivity, reviews.ratings), 4),
        "macro_f1": round(f1, 4),
        "rating_mae": round(rating_mae(served, reviews.ratings), 4),
        "confidence_ece": round(expected_calibration_error(confidence, correct), 4),
    }
    return decision, metrics


def write_artifact(
    run: Path, out: Path, version: str, decision: RegionDecision, metrics: dict[str, Any]
) -> Manifest:
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "model.int8.onnx", out / "model.onnx")
    shutil.copyfile(run / "tokenizer.json", out / "tokenizer.json")
    files = {name: sha256((out / name).read_bytes()) for name in ("model.onnx", "tokenizer.json")}
    tokenizer_json = (out / "tokenizer.json").read_text(encoding="utf-8")
    manifest = Manifest(
        name=NAME,
        version=version,
        max_length=tokenizer_max_length(tokenizer_json),
        decision=decision,
        inputs=tuple(INPUT_NAMES),
        outputs=tuple(OUTPUT_NAMES),
        files=files,
        rating=RATING_MEDIAN,
        metrics=metrics,
    )
    (out / MANIFEST).write_bytes(manifest.to_bytes())
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=RUNS_DIR / "main")
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", type=Path, default=None, help="default model/artifacts/<version>")
    parser.add_argument("--dev", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--min-agreement", type=float, default=MIN_AGREEMENT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    dev = args.dev or split_file("dev")
    decision, dev_metrics = dev_selection(args.run, dev, args.limit)
    check = quant_check(args.run, dev, decision, args.limit)
    if check["label_agreement"] < args.min_agreement:
        raise SystemExit(
            f"INT8 vs FP32 label agreement {check['label_agreement']} < {args.min_agreement}"
        )
    metrics = {"dev": dev_metrics, "int8_vs_fp32_dev": check}
    for key, name in (("training", "train_summary.json"), ("export", "export.json")):
        if (args.run / name).exists():
            metrics[key] = json.loads((args.run / name).read_text())
    out = args.out or ARTIFACTS_DIR / args.version
    manifest = write_artifact(args.run, out, args.version, decision, metrics)
    log.info("artifact %s -> %s; decision %s; %s", manifest.version, out, decision, metrics)


if __name__ == "__main__":
    main()
