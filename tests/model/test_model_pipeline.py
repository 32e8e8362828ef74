"""The whole pipeline on the fixture sample: tokenizer -> train -> export -> INT8 -> evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model import evaluate, export, package, quantize, tokenizer, train
from shared.sentiment import load_scorer
from shared.sentiment.manifest import Manifest, sha256

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nsmc"
TRAIN, DEV, TEST = (FIXTURES / f"reviews-{s}.tsv.gz" for s in ("train", "dev", "test"))
TINY_NET = [
    "--embed-dim",
    "16",
    "--hidden",
    "16",
    "--ngram-buckets",
    "1009",
    "--ngram-dim",
    "8",
    "--head-dim",
    "16",
]


def test_tiny_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, out = tmp_path / "run", tmp_path / "artifact"
    tokenizer.main(["--run", str(run), "--train", str(TRAIN), "--vocab-size", "400"])
    train.main(
        [
            "--run",
            str(run),
            "--train",
            str(TRAIN),
            "--dev",
            str(DEV),
            "--epochs",
            "1",
            "--batch-size",
            "128",
            "--threads",
            "1",
            *TINY_NET,
        ]
    )
    assert (run / "best.pt").exists() and (run / "last.pt").exists()
    export.main(["--run", str(run)])
    quantize.main(["--run", str(run), "--dev", str(DEV)])
    report = json.loads((run / "quantize.json").read_text())
    assert report["label_agreement_0.5"] > 0.9
    package.main(
        [
            "--run",
            str(run),
            "--version",
            "tiny-1",
            "--out",
            str(out),
            "--dev",
            str(DEV),
            "--min-agreement",
            "0.5",
        ]
    )
    manifest = Manifest.from_bytes((out / "manifest.json").read_bytes())
    assert manifest.version == "tiny-1"
    assert manifest.files["model.onnx"] == sha256((out / "model.onnx").read_bytes())
    assert manifest.metrics["export"]["members"][0]["checkpoint"].endswith("best.pt")
    capsys.readouterr()
    evaluate.main(["--artifact", str(out), "--data", str(TEST), "--threads", "1"])
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["n"] == 600
    for key in ("nsmc_accuracy", "macro_f1", "rating_mae"):
        assert metrics[key] >= 0
    assert load_scorer(str(out)).score(["재밌다"])[0].model_version == "tiny-1"


def test_training_is_reproducible_and_resumable(tmp_path: Path) -> None:
    """Same seed, same weights; an interrupted run resumes to the same (averaged) weights."""
    import torch

    from model.checkpoint import load_net

    runs = [tmp_path / "a", tmp_path / "b"]
    for run in runs:
        tokenizer.main(["--run", str(run), "--train", str(DEV), "--vocab-size", "300"])
    args = [
        "--train",
        str(DEV),
        "--dev",
        str(DEV),
        "--batch-size",
        "100",
        "--threads",
        "1",
        "--ema",
        "0.9",
        *TINY_NET,
    ]
    train.main(["--run", str(runs[0]), "--epochs", "2", *args])
    train.main(["--run", str(runs[1]), "--epochs", "2", "--stop-after-steps", "4", *args])
    train.main(["--run", str(runs[1]), "--epochs", "2", *args])  # resumed mid-epoch from last.pt
    nets = [load_net(run / "last.pt") for run in runs]
    live = torch.load(runs[0] / "last.pt", weights_only=False)["live"]
    assert not torch.equal(live["embed.weight"], nets[0].state_dict()["embed.weight"])
    for (name, a), b in zip(
        nets[0].state_dict().items(), nets[1].state_dict().values(), strict=True
    ):
        assert torch.allclose(a, b, atol=1e-6), name
