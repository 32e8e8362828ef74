"""Step 5: assemble the artifact folder: INT8 model, tokenizer, manifest.

``python -m model.package --run model/runs/main --version nsmc-bilstm-v2-20261123``
Chooses the neutral band on dev (INT8 outputs, max 3-class macro-F1), checks
INT8 vs FP32 label agreement on dev (>= 99.5% or the step fails) and writes
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

from model.data import read_reviews
from model.export import INPUT_NAMES, OUTPUT_NAMES
from model.metrics import balanced_accuracy, band_labels, choose_band, rating_mae
from model.onnx_predict import engine_for, predict_reviews, tokenizer_max_length
from model.paths import ARTIFACTS_DIR, RUNS_DIR, split_file
from shared.sentiment.manifest import MANIFEST, Manifest, sha256

log = logging.getLogger(__name__)
MIN_AGREEMENT = 0.995
NAME = "nsmc-sentiment"


def quant_check(run: Path, dev: Path, band: tuple[float, float], limit: int | None) -> dict:
    """INT8 vs FP32 on dev: 3-class label agreement under ``band`` and max |delta|."""
    reviews = read_reviews(dev, limit)
    tok = run / "tokenizer.json"
    fp32 = predict_reviews(engine_for(run / "model.fp32.onnx", tok), reviews).positivity
    int8 = predict_reviews(engine_for(run / "model.int8.onnx", tok), reviews).positivity
    agreement = float(np.mean(band_labels(fp32, *band) == band_labels(int8, *band)))
    return {
        "n": len(reviews),
        "label_agreement": round(agreement, 5),
        "binary_agreement": round(float(np.mean((fp32 >= 0.5) == (int8 >= 0.5))), 5),
        "max_abs_delta_positivity": round(float(np.abs(fp32 - int8).max()), 5),
    }


def dev_selection(run: Path, dev: Path, limit: int | None) -> tuple[tuple[float, float], dict]:
    """Neutral band chosen on dev with the INT8 model, and the dev metrics under it."""
    reviews = read_reviews(dev, limit)
    pred = predict_reviews(engine_for(run / "model.int8.onnx", run / "tokenizer.json"), reviews)
    low, high, f1 = choose_band(pred.positivity, reviews.ratings)
    metrics = {
        "n": len(reviews),
        "nsmc_accuracy": round(balanced_accuracy(pred.positivity, reviews.ratings), 4),
        "macro_f1": round(f1, 4),
        "rating_mae": round(rating_mae(pred.rating, reviews.ratings), 4),
    }
    return (low, high), metrics


def write_artifact(
    run: Path, out: Path, version: str, band: tuple[float, float], metrics: dict[str, Any]
) -> Manifest:
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "model.int8.onnx", out / "model.onnx")
    shutil.copyfile(run / "tokenizer.json", out / "tokenizer.json")
    files = {name: sha256((out / name).read_bytes()) for name in ("model.onnx", "tokenizer.json")}
    manifest = Manifest(
        name=NAME,
        version=version,
        max_length=tokenizer_max_length((out / "tokenizer.json").read_text(encoding="utf-8")),
        neutral_band=band,
        inputs=tuple(INPUT_NAMES),
        outputs=tuple(OUTPUT_NAMES),
        files=files,
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
    band, dev_metrics = dev_selection(args.run, dev, args.limit)
    check = quant_check(args.run, dev, band, args.limit)
    if check["label_agreement"] < args.min_agreement:
        raise SystemExit(
            f"INT8 vs FP32 label agreement {check['label_agreement']} < {args.min_agreement}"
        )
    metrics = {"dev": dev_metrics, "int8_vs_fp32_dev": check}
    for key, name in (("training", "train_summary.json"), ("export", "export.json")):
        if (args.run / name).exists():
            metrics[key] = json.loads((args.run / name).read_text())
    out = args.out or ARTIFACTS_DIR / args.version
    manifest = write_artifact(args.run, out, args.version, band, metrics)
    log.info("artifact %s -> %s; band %s; %s", manifest.version, out, band, metrics)


if __name__ == "__main__":
    main()
