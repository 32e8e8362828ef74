"""Step 5: assemble the artifact folder: INT8 model, tokenizer, optional n-gram member, manifest.

``python -m model.package --run model/runs/main --version nsmc-bilstm-v4-20261205``
``python -m model.package --from-artifact model/artifacts/<v> --version <new> --ngram M``
(``M``: an n-gram member, e.g. ``.local/teachers/ngram/member.npz``)

With ``--ngram`` the artifact pools the network and the n-gram member
(``shared.sentiment.pooling``: log-linear weights fitted on dev by NLL, as
``model.ensemble``) and the decision is chosen on the pooled dev outputs; without it,
on the network's. The decision: temperature calibration of the rating head, region
weights for macro-F1, the confidence temperature by NLL (``model.metrics``). From a run,
INT8 vs FP32 label agreement on dev is checked (>= 99.5% or the step fails); from an
artifact, its graph and check are reused. ``manifest.json`` gets the sha256 of every
file, and the metrics of the network alone on dev beside the pooled ones.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model import ensemble
from model.data import Reviews, read_reviews, three_class
from model.export import INPUT_NAMES, OUTPUT_NAMES
from model.metrics import (
    balanced_accuracy,
    choose_decision,
    expected_calibration_error,
    rating_mae,
)
from model.onnx_predict import engine_for, predict_reviews, tokenizer_max_length
from model.paths import ARTIFACTS_DIR, RUNS_DIR, split_file
from model.soft_targets import SoftTargets
from shared.sentiment.decision import RATING_MEDIAN, RegionDecision, ratings
from shared.sentiment.manifest import MANIFEST, NETWORK, Manifest, sha256
from shared.sentiment.ngram_member import FILE as NGRAM_FILE
from shared.sentiment.ngram_member import NgramMember
from shared.sentiment.pooling import Pooling

log = logging.getLogger(__name__)
MIN_AGREEMENT = 0.995
NAME = "nsmc-sentiment"


@dataclass(frozen=True)
class Source:
    """Where the packaged files come from: a training run or an existing artifact."""

    graph: Path  # the INT8 ONNX graph
    tokenizer: Path
    fp32: Path | None  # for the INT8 check (runs only)
    metrics: dict[str, Any]  # carried over (training summary, export, an artifact's check)

    @classmethod
    def from_run(cls, run: Path) -> Source:
        carried = {}
        for key, name in (("training", "train_summary.json"), ("export", "export.json")):
            if (run / name).exists():
                carried[key] = json.loads((run / name).read_text())
        tokenizer = run / "tokenizer.json"
        return cls(run / "model.int8.onnx", tokenizer, run / "model.fp32.onnx", carried)

    @classmethod
    def from_artifact(cls, artifact: Path) -> Source:
        old = json.loads((artifact / MANIFEST).read_text(encoding="utf-8"))
        keys = ("int8_vs_fp32_dev", "training", "export")
        carried = {k: old["metrics"][k] for k in keys if k in old.get("metrics", {})}
        carried["network_from"] = old["version"]
        return cls(artifact / NETWORK, artifact / "tokenizer.json", None, carried)


def quant_check(source: Source, dev: Path, decision: RegionDecision, limit: int | None) -> dict:
    """INT8 vs FP32 on dev: 3-class label agreement under ``decision`` and max |delta|."""
    if source.fp32 is None:
        raise ValueError("no FP32 graph to check against")
    reviews = read_reviews(dev, limit)
    fp32 = predict_reviews(engine_for(source.fp32, source.tokenizer), reviews)
    int8 = predict_reviews(engine_for(source.graph, source.tokenizer), reviews)
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


def dev_figures(outputs: SoftTargets) -> tuple[RegionDecision, dict[str, Any]]:
    """The 3-class decision chosen on these dev outputs, and the dev metrics under it."""
    decision, f1 = choose_decision(outputs.rating_probs, outputs.ratings)
    labels, confidence = decision.decide(outputs.positivity, outputs.rating_probs)
    correct = labels == three_class(outputs.ratings)
    served = ratings(outputs.positivity, outputs.rating_probs, RATING_MEDIAN)
    return decision, {
        "n": len(outputs),
        "nsmc_accuracy": round(balanced_accuracy(outputs.positivity, outputs.ratings), 4),
        "macro_f1": round(f1, 4),
        "rating_mae": round(rating_mae(served, outputs.ratings), 4),
        "confidence_ece": round(expected_calibration_error(confidence, correct), 4),
    }


def network_outputs(source: Source, reviews: Reviews) -> SoftTargets:
    pred = predict_reviews(engine_for(source.graph, source.tokenizer), reviews)
    if pred.rating_probs is None:
        raise SystemExit("the model has no rating head: package it with model.convert_hf")
    return SoftTargets(pred.positivity, pred.rating_probs, reviews.ratings)


def member_outputs(source: Source, member: NgramMember, reviews: Reviews) -> SoftTargets:
    """The member's dev outputs on the texts as the artifact's tokenizer normalises them."""
    normalised = engine_for(source.graph, source.tokenizer).normalised(reviews.texts)
    positivity, probs = member.probabilities(normalised)
    return SoftTargets(positivity, probs, reviews.ratings)


def fit_pooling(members: list[SoftTargets]) -> Pooling:
    w, v = ensemble.fit_positivity_weights(members), ensemble.fit_rating_weights(members)
    rounded = (tuple(round(float(x), 5) for x in w), tuple(round(float(x), 5) for x in v))
    return Pooling((NETWORK, NGRAM_FILE), *rounded)


def dev_selection(
    source: Source, dev: Path, limit: int | None, member: NgramMember | None
) -> tuple[RegionDecision, Pooling | None, dict[str, Any]]:
    """Decision (and pooling) chosen on dev with the INT8 network, and the dev metrics."""
    reviews = read_reviews(dev, limit)
    network = network_outputs(source, reviews)
    if member is None:
        decision, metrics = dev_figures(network)
        return decision, None, {"dev": metrics}
    members = [network, member_outputs(source, member, reviews)]
    pooling = fit_pooling(members)
    pooled = ensemble.pool(
        members, np.array(pooling.positivity_weights), np.array(pooling.rating_weights)
    )
    decision, metrics = dev_figures(pooled)
    return (
        decision,
        pooling,
        {
            "dev": metrics,
            "dev_network_alone": dev_figures(network)[1],
            "dev_ngram_alone": dev_figures(members[1])[1],
        },
    )


def write_artifact(
    source: Source,
    out: Path,
    version: str,
    decision: RegionDecision,
    metrics: dict[str, Any],
    *,
    member: Path | None = None,
    pooling: Pooling | None = None,
) -> Manifest:
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source.graph, out / NETWORK)
    shutil.copyfile(source.tokenizer, out / "tokenizer.json")
    names = [NETWORK, "tokenizer.json"]
    if member is not None:
        shutil.copyfile(member, out / NGRAM_FILE)
        names.append(NGRAM_FILE)
    files = {name: sha256((out / name).read_bytes()) for name in names}
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
        pooling=pooling,
    )
    manifest.validate()
    (out / MANIFEST).write_bytes(manifest.to_bytes())
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    origin = parser.add_mutually_exclusive_group()
    origin.add_argument("--run", type=Path, default=RUNS_DIR / "main")
    origin.add_argument("--from-artifact", type=Path, default=None, help="reuse its graph")
    parser.add_argument("--ngram", type=Path, default=None, help="an n-gram member .npz to pool")
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", type=Path, default=None, help="default model/artifacts/<version>")
    parser.add_argument("--dev", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--min-agreement", type=float, default=MIN_AGREEMENT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    dev = args.dev or split_file("dev")
    source = Source.from_artifact(args.from_artifact) if args.from_artifact else None
    source = source or Source.from_run(args.run)
    member = NgramMember.from_bytes(args.ngram.read_bytes()) if args.ngram else None
    decision, pooling, metrics = dev_selection(source, dev, args.limit, member)
    if source.fp32 is not None:
        check = quant_check(source, dev, decision, args.limit)
        if check["label_agreement"] < args.min_agreement:
            raise SystemExit(
                f"INT8 vs FP32 label agreement {check['label_agreement']} < {args.min_agreement}"
            )
        metrics["int8_vs_fp32_dev"] = check
    out = args.out or ARTIFACTS_DIR / args.version
    manifest = write_artifact(
        source,
        out,
        args.version,
        decision,
        source.metrics | metrics,
        member=args.ngram,
        pooling=pooling,
    )
    log.info("artifact %s -> %s; decision %s; pooling %s", manifest.version, out, decision, pooling)
    print(json.dumps({k: v for k, v in metrics.items() if k.startswith("dev")}))


if __name__ == "__main__":
    main()
