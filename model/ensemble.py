"""Step 2b: combine teachers into one ensemble -> distillation targets for every split.

``python -m model.ensemble --teachers v2 wide morph``
Reads ``.local/teachers/<name>/<split>.npz`` (see ``model.soft_targets``), fits the
pooling weights on dev, writes ``.local/soft-targets/<split>.npz`` and prints (and saves
as ``ensemble.json``) every teacher's and the ensemble's dev figures.

Pooling is log-linear, with non-negative weights fitted by minimising the dev
negative log-likelihood (the weights need not sum to one, so they also set the
ensemble's temperature):
* P(positive): sigmoid(sum_i w_i logit_i), fitted on dev's 1-4 and 9-10 reviews with the
  two classes weighted equally (the balanced accuracy the model is judged by);
* rating distribution: softmax(sum_i v_i log p_i), fitted on every dev review.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from model import soft_targets
from model.data import polarity, three_class
from model.metrics import (
    balanced_accuracy,
    choose_decision,
    expected_calibration_error,
    rating_mae,
)
from model.soft_targets import SoftTargets
from shared.sentiment import pooling
from shared.sentiment.decision import median_ratings
from shared.sentiment.pooling import EPS, log_probs, logit

log = logging.getLogger(__name__)


def pool(members: Sequence[SoftTargets], w: np.ndarray, v: np.ndarray) -> SoftTargets:
    """Log-linear pooling with positivity weights ``w`` and rating weights ``v``."""
    logits = [pooling.from_probabilities(m.positivity, m.rating_probs) for m in members]
    positivity, probs = pooling.pool(logits, w.tolist(), v.tolist())
    return SoftTargets(positivity, probs, members[0].ratings)


def fit_positivity_weights(members: Sequence[SoftTargets]) -> np.ndarray:
    """Non-negative weights minimising the class-balanced binary NLL on polar rows."""
    gold = polarity(members[0].ratings)
    polar = ~np.isnan(gold)
    y = gold[polar]
    x = np.stack([logit(m.positivity[polar]) for m in members], axis=1)
    row_w = np.where(y == 1.0, 0.5 / max(np.mean(y == 1.0), EPS), 0.5 / max(np.mean(y == 0), EPS))

    def loss(params: np.ndarray) -> float:
        z = x @ np.exp(params)
        nll = np.logaddexp(0.0, -z) * y + np.logaddexp(0.0, z) * (1 - y)
        return float(np.mean(row_w * nll))

    start = np.log(np.full(len(members), 1.0 / len(members)))
    return np.exp(minimize(loss, start, method="Nelder-Mead", options={"maxiter": 2000}).x)


def fit_rating_weights(members: Sequence[SoftTargets]) -> np.ndarray:
    """Non-negative weights minimising the 10-way rating NLL on every row."""
    gold = members[0].ratings - 1
    stacked = np.stack([log_probs(m.rating_probs) for m in members], axis=0)

    def loss(params: np.ndarray) -> float:
        z = np.tensordot(np.exp(params), stacked, axes=1)
        z = z - z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(z).sum(axis=1))
        return float(np.mean(log_norm - z[np.arange(len(gold)), gold]))

    start = np.log(np.full(len(members), 1.0 / len(members)))
    return np.exp(minimize(loss, start, method="Nelder-Mead", options={"maxiter": 2000}).x)


def figures(targets: SoftTargets) -> dict[str, float]:
    """Dev figures of one set of outputs (the 3-class decision fitted on the same rows)."""
    decision, f1 = choose_decision(targets.rating_probs, targets.ratings)
    labels, confidence = decision.decide(targets.positivity, targets.rating_probs)
    correct = labels == three_class(targets.ratings)
    return {
        "nsmc_accuracy": round(balanced_accuracy(targets.positivity, targets.ratings), 4),
        "macro_f1": round(f1, 4),
        "rating_mae": round(rating_mae(median_ratings(targets.rating_probs), targets.ratings), 4),
        "confidence_ece": round(expected_calibration_error(confidence, correct), 4),
    }


def load_teachers(names: Sequence[str], split: str, root: Path) -> list[SoftTargets]:
    members = [soft_targets.load(soft_targets.teacher_file(n, split, root)) for n in names]
    for name, member in zip(names, members, strict=True):
        member.check_rows(members[0].ratings, f"teacher {name} ({split})")
    return members


def build(names: Sequence[str], root: Path, out: Path, splits: Sequence[str]) -> dict[str, Any]:
    dev = load_teachers(names, "dev", root)
    w, v = fit_positivity_weights(dev), fit_rating_weights(dev)
    summary: dict[str, Any] = {
        "teachers": list(names),
        "positivity_weights": dict(zip(names, np.round(w, 4).tolist(), strict=True)),
        "rating_weights": dict(zip(names, np.round(v, 4).tolist(), strict=True)),
        "dev": {name: figures(member) for name, member in zip(names, dev, strict=True)},
    }
    summary["dev"]["ensemble"] = figures(pool(dev, w, v))
    log.info("dev figures: %s", json.dumps(summary["dev"]))
    for split in splits:
        members = dev if split == "dev" else load_teachers(names, split, root)
        soft_targets.save(out / f"{split}.npz", pool(members, w, v))
        log.info("soft targets %s -> %s", split, out / f"{split}.npz")
    (out / "ensemble.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teachers", nargs="+", required=True)
    parser.add_argument("--teachers-dir", type=Path, default=soft_targets.TEACHERS_DIR)
    parser.add_argument("--out", type=Path, default=soft_targets.SOFT_DIR)
    parser.add_argument("--splits", nargs="+", default=list(soft_targets.SPLITS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    print(json.dumps(build(args.teachers, args.teachers_dir, args.out, args.splits)))


if __name__ == "__main__":
    main()
