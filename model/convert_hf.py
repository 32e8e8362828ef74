"""Convert a local Hugging Face sequence classifier into our artifact format.

``python -m model.convert_hf SRC DST [--version V] [--dev reviews-dev.tsv.gz]``

SRC is a folder with a 2-label ``*ForSequenceClassification`` model and a fast
tokenizer (e.g. a copy of ``matthewburke/korean_sentiment``); nothing is
downloaded. The graph outputs ``positivity = softmax(logits)[positive index]``;
having no rating head, the runtime derives ``rating = 1 + 9 * positivity``
(manifest ``"rating": "linear"``). The neutral band is chosen on ``--dev`` if
given, otherwise ``--band LOW HIGH`` is used.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from model.metrics import choose_band
from model.quantize import quantize
from shared.sentiment.decision import RATING_LINEAR, BandDecision
from shared.sentiment.manifest import MANIFEST, Manifest, sha256

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
log = logging.getLogger(__name__)
OPSET = 17


def positive_index(id2label: dict[int, str]) -> int:
    """Index of the positive class: a label named like "pos…"/"1", else 1."""
    for index, label in id2label.items():
        if str(label).lower().startswith("pos") or str(label) == "LABEL_1":
            return int(index)
    return 1


def export_classifier(src: Path, out: Path) -> tuple[list[str], object]:
    """Export SRC to ONNX (FP32) with outputs ``positivity``; returns (input names, tokenizer)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(src, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(src, local_files_only=True, use_fast=True)
    if model.config.num_labels != 2:
        raise SystemExit(f"expected a 2-label classifier, got {model.config.num_labels} labels")
    index = positive_index(model.config.id2label)
    names: list[str] = [
        n
        for n in ("input_ids", "attention_mask", "token_type_ids")
        if n in tokenizer.model_input_names
    ]

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            logits = self.model(**dict(zip(names, inputs, strict=True))).logits
            return torch.softmax(logits, dim=-1)[:, index]

    sample = tokenizer(["좋은 영화", "별로"], padding=True, return_tensors="pt")
    args = tuple(sample[n] for n in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"positivity": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(
            Wrapper().eval(),
            args,
            str(out),
            input_names=names,
            output_names=["positivity"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    return names, tokenizer


def tokenizer_json(tokenizer: object, max_length: int) -> bytes:
    """The fast tokenizer's JSON with truncation at ``max_length`` and no padding."""
    backend = tokenizer.backend_tokenizer  # type: ignore[attr-defined]
    backend.no_padding()
    backend.enable_truncation(max_length=max_length)
    return str(backend.to_str()).encode("utf-8")


def choose_dev_band(dst: Path, dev: Path, limit: int | None) -> tuple[float, float]:
    from model.data import read_reviews
    from shared.sentiment import load_scorer

    scorer = load_scorer(str(dst), threads=2)
    reviews = read_reviews(dev, limit)
    positivity = np.array([s.positivity for s in scorer.score(reviews.texts)])
    low, high, _ = choose_band(positivity, reviews.ratings)
    return low, high


def convert(
    src: Path, dst: Path, version: str, band: tuple[float, float], max_length: int = 128
) -> Manifest:
    """Export, quantise and write the artifact folder ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model.fp32.onnx"
        names, tokenizer = export_classifier(src, fp32)
        quantize(fp32, dst / "model.onnx", symbolic=False)  # fails on HF attention graphs
    (dst / "tokenizer.json").write_bytes(tokenizer_json(tokenizer, max_length))
    files = {n: sha256((dst / n).read_bytes()) for n in ("model.onnx", "tokenizer.json")}
    manifest = Manifest(
        name=f"hf-{src.name}",
        version=version,
        max_length=max_length,
        decision=BandDecision(*band),
        inputs=tuple(names),
        outputs=("positivity",),
        files=files,
        rating=RATING_LINEAR,
        pad_id=int(tokenizer.pad_token_id or 0),  # type: ignore[attr-defined]
        unk_id=int(tokenizer.unk_token_id or 0),  # type: ignore[attr-defined]
        metrics={"source": str(src.name)},
    )
    (dst / MANIFEST).write_bytes(manifest.to_bytes())
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--version", default=None, help="default: hf-<src folder name>")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--band", type=float, nargs=2, default=(0.35, 0.65))
    parser.add_argument("--dev", type=Path, default=None, help="choose the band on this file")
    parser.add_argument("--dev-limit", type=int, default=5000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    version = args.version or f"hf-{args.src.resolve().name}"
    manifest = convert(args.src, args.dst, version, tuple(args.band), args.max_length)
    if args.dev:
        band = choose_dev_band(args.dst, args.dev, args.dev_limit)
        manifest = Manifest(**{**manifest.__dict__, "decision": BandDecision(*band)})
        (args.dst / MANIFEST).write_bytes(manifest.to_bytes())
    log.info(
        "converted %s -> %s (version %s, decision %s)",
        args.src,
        args.dst,
        version,
        manifest.decision,
    )


if __name__ == "__main__":
    main()
