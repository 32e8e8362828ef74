"""Teacher outputs of a trained network on every split -> ``.local/teachers/<name>/``.

``python -m model.teacher_predict --run model/runs/ta --name bilstm-wide``
Loads ``<run>/best.pt`` (or ``--checkpoint``), tokenises each split with the run's
``tokenizer.json`` and writes P(positive) and the rating distribution of every review
(see ``model.soft_targets``). ``--data-dir`` names a folder of pre-processed copies of
the corpus files (e.g. the morpheme-segmented ones of ``model.morphemes``).
``--artifact DIR`` uses a packaged ONNX artifact (e.g. a previous model version) instead.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch
from tokenizers import Tokenizer

from model import soft_targets
from model.checkpoint import load_net
from model.data import read_reviews
from model.encoded import encode
from model.paths import RUNS_DIR, data_dir
from model.train import predict_outputs

log = logging.getLogger(__name__)


def predict_split(run: Path, checkpoint: str, data: Path) -> soft_targets.SoftTargets:
    tokenizer = Tokenizer.from_file(str(run / "tokenizer.json"))
    encoded = encode(tokenizer, read_reviews(data))
    positivity, probs = predict_outputs(load_net(run / checkpoint), encoded, batch_size=1024)
    return soft_targets.SoftTargets(positivity, probs, encoded.ratings)


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
    parser.add_argument("--run", type=Path, default=RUNS_DIR / "main")
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
    for split in args.splits:
        data = folder / f"reviews-{split}.tsv.gz"
        if args.artifact:
            targets = predict_artifact(args.artifact, data)
        else:
            targets = predict_split(args.run, args.checkpoint, data)
        path = soft_targets.teacher_file(args.name, split, args.out)
        soft_targets.save(path, targets)
        log.info("%s %s: %d rows -> %s", args.name, split, len(targets), path)


if __name__ == "__main__":
    main()
