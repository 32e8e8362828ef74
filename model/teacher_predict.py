"""Teacher outputs of a trained network on every split -> ``.local/teachers/<name>/``.

``python -m model.teacher_predict --run model/runs/ta --name bilstm-wide``
Loads ``<run>/best.pt`` (or ``--checkpoint``), tokenises each split with the run's
``tokenizer.json`` and writes P(positive) and the rating distribution of every review
(see ``model.soft_targets``). ``--data-dir`` names a folder of pre-processed copies of
the corpus files (e.g. the morpheme-segmented ones of ``model.morphemes``).
``--artifact DIR`` uses a packaged ONNX artifact (e.g. a previous model version) instead.

Cross-fitted teachers: ``--run`` names several runs trained with ``--fold k --folds K``
(k = 0..K-1, in order). Each train review is predicted by the run that did not see it
(out of fold); dev and test get the mean of the runs' probabilities.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from model import soft_targets
from model.checkpoint import load_net
from model.data import fold_ids, read_reviews
from model.encoded import encode
from model.paths import RUNS_DIR, data_dir
from model.train import predict_outputs

log = logging.getLogger(__name__)


def predict_split(run: Path, checkpoint: str, data: Path) -> soft_targets.SoftTargets:
    tokenizer = Tokenizer.from_file(str(run / "tokenizer.json"))
    encoded = encode(tokenizer, read_reviews(data))
    positivity, probs = predict_outputs(load_net(run / checkpoint), encoded, batch_size=1024)
    return soft_targets.SoftTargets(positivity, probs, encoded.ratings)


def check_folds(runs: list[Path], checkpoint: str) -> None:
    """Run k must have been trained without fold k of len(runs) folds."""
    for k, run in enumerate(runs):
        cfg = torch.load(run / checkpoint, weights_only=False)["train_config"]
        if (cfg.get("fold"), cfg.get("folds")) != (k, len(runs)):
            raise SystemExit(f"{run} is not fold {k} of {len(runs)}: {cfg.get('fold')}")


def cross_fitted(
    runs: list[Path], checkpoint: str, data: Path, split: str
) -> soft_targets.SoftTargets:
    """Out-of-fold outputs on train; the runs' mean elsewhere."""
    outputs = [predict_split(run, checkpoint, data) for run in runs]
    ratings = outputs[0].ratings
    if split == "train":
        fold = fold_ids(len(ratings), len(runs))
        positivity = np.choose(fold, [o.positivity for o in outputs])
        probs = np.choose(fold[:, None], [o.rating_probs for o in outputs])
    else:
        positivity = np.mean([o.positivity for o in outputs], axis=0)
        probs = np.mean([o.rating_probs for o in outputs], axis=0)
    return soft_targets.SoftTargets(positivity, probs, ratings)


def predict_artifact(artifact: Path, data: Path) -> soft_targets.SoftTargets:
    from model.onnx_predict import engine_for, predict_reviews

    pred = predict_reviews(
        engine_for(artifact / "model.onnx", artifact / "tokenizer.json"), read_reviews(data)
    )
    if pred.rating_probs is None:
        raise SystemExit(f"{artifact} has no rating head")
    return soft_targets.SoftTargets(pred.positivity, pred.rating_probs, pred.gold)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--run", type=Path, nargs="+", default=[RUNS_DIR / "main"], help="one, or fold runs"
    )
    parser.add_argument("--name", required=True, help="teacher name (folder under --out)")
    parser.add_argument("--checkpoint", default="best.pt")
    parser.add_argument("--artifact", type=Path, default=None, help="an ONNX artifact folder")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: the corpus")
    parser.add_argument("--splits", nargs="+", default=list(soft_targets.SPLITS))
    parser.add_argument("--out", type=Path, default=soft_targets.TEACHERS_DIR)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    folder = args.data_dir or data_dir()
    if len(args.run) > 1:
        check_folds(args.run, args.checkpoint)
    for split in args.splits:
        data = folder / f"reviews-{split}.tsv.gz"
        if args.artifact:
            targets = predict_artifact(args.artifact, data)
        elif len(args.run) > 1:
            targets = cross_fitted(args.run, args.checkpoint, data, split)
        else:
            targets = predict_split(args.run[0], args.checkpoint, data)
        path = soft_targets.teacher_file(args.name, split, args.out)
        soft_targets.save(path, targets)
        log.info("%s %s: %d rows -> %s", args.name, split, len(targets), path)


if __name__ == "__main__":
    main()
