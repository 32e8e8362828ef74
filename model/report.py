"""Step 6b: model-card figures: confusion matrix and calibration plots (PNG under model/).

``python -m model.report --artifact model/artifacts/<version> --data reviews-test.tsv.gz``
Scores through the runtime scorer, writes ``model/confusion.png`` and
``model/calibration.png`` and prints the numbers behind them as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from model.data import polarity, read_reviews, three_class
from model.evaluate import score_arrays
from model.metrics import confusion
from model.paths import MODEL_DIR
from shared.sentiment import load_scorer
from shared.sentiment.decision import LABELS


def calibration_bins(prob: np.ndarray, outcome: np.ndarray, bins: int = 10) -> list[dict]:
    """Mean predicted vs observed frequency per equal-width probability bin."""
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(prob, edges) - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            rows.append(
                {
                    "bin": b,
                    "n": int(chosen.sum()),
                    "predicted": float(prob[chosen].mean()),
                    "observed": float(outcome[chosen].mean()),
                }
            )
    return rows


def plot_confusion(matrix: np.ndarray, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    share = matrix / matrix.sum(axis=1, keepdims=True)
    fig, ax = plt.subplots(figsize=(4.2, 3.6), dpi=100)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(3), LABELS)
    ax.set_yticks(
        range(3),
        [f"{label}\n(rating {r})" for label, r in zip(LABELS, ("1-4", "5-8", "9-10"), strict=True)],
    )
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            f"{value}\n{share[i, j]:.0%}",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if share[i, j] > 0.5 else "black",
        )
    ax.set_xlabel("predicted label")
    ax.set_ylabel("gold (from rating)")
    ax.set_title("Test confusion matrix", fontsize=10)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_calibration(positivity: list[dict], confidence: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4), dpi=100)
    for ax, rows, title, ylabel in (
        (axes[0], positivity, "positivity (1-4 vs 9-10 reviews)", "observed share positive"),
        (axes[1], confidence, "confidence (all reviews)", "observed share label correct"),
    ):
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
        ax.plot([r["predicted"] for r in rows], [r["observed"] for r in rows], marker="o")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("predicted")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def build_report(artifact: str, data: Path, out_dir: Path, limit: int | None) -> dict[str, Any]:
    scorer = load_scorer(artifact, threads=2)
    scorer.engine.batch_size = 256
    reviews = read_reviews(data, limit)
    served = score_arrays(scorer, reviews)
    gold = three_class(reviews.ratings)
    matrix = confusion(gold, served["label"])
    pol = polarity(reviews.ratings)
    polar = ~np.isnan(pol)
    pos_bins = calibration_bins(served["positivity"][polar], pol[polar])
    conf_bins = calibration_bins(served["confidence"], (served["label"] == gold).astype(float))
    plot_confusion(matrix, out_dir / "confusion.png")
    plot_calibration(pos_bins, conf_bins, out_dir / "calibration.png")
    return {
        "confusion": matrix.tolist(),
        "positivity_calibration": pos_bins,
        "confidence_calibration": conf_bins,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out-dir", type=Path, default=MODEL_DIR)
    args = parser.parse_args(argv)
    print(json.dumps(build_report(args.artifact, args.data, args.out_dir, args.limit)))


if __name__ == "__main__":
    main()
