"""The whole pipeline on the fixture sample: tokenizer -> train -> export -> INT8 -> evaluate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from model import (
    ensemble,
    evaluate,
    export,
    package,
    quantize,
    soft_targets,
    teacher_ngram,
    teacher_predict,
    tokenizer,
    train,
)
from model.data import read_reviews
from shared.sentiment import load_scorer
from shared.sentiment.decision import RATING_MEDIAN, RegionDecision
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


def train_tiny(run: Path, *extra: str) -> None:
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
            *extra,
        ]
    )


def test_tiny_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Teachers -> soft targets -> distilled student -> ONNX -> INT8 -> artifact -> evaluate."""
    teacher, student, out = tmp_path / "teacher", tmp_path / "student", tmp_path / "artifact"
    teachers, soft = tmp_path / "teachers", tmp_path / "soft"
    tokenizer.main(["--run", str(teacher), "--train", str(TRAIN), "--vocab-size", "400"])
    train_tiny(teacher)
    assert (teacher / "best.pt").exists() and (teacher / "last.pt").exists()
    common = ["--data-dir", str(FIXTURES), "--out", str(teachers)]
    teacher_predict.main(["--run", str(teacher), "--name", "net", "--threads", "1", *common])
    small = ["--folds", "2", "--min-df", "2", "--char-features", "20000", "--word-features"]
    teacher_ngram.main(["--name", "ngram", *small, "5000", "--max-iter", "100", *common])
    assert sorted(p.name for p in (teachers / "ngram" / "folds").iterdir()) == [
        "0-of-2.npz",
        "1-of-2.npz",
    ]
    ensemble.main(
        ["--teachers", "net", "ngram", "--teachers-dir", str(teachers), "--out", str(soft)]
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary["dev"]) == {"net", "ngram", "ensemble"}
    targets = soft_targets.load(soft / "train.npz")
    assert len(targets) == 4000 and targets.rating_probs.sum(axis=1) == pytest.approx(1, abs=1e-4)

    shutil.copytree(teacher, student, ignore=shutil.ignore_patterns("*.pt", "history.jsonl"))
    train_tiny(student, "--soft-targets", str(soft), "--distill", "0.5", "--token-dropout", "0.1")
    export.main(["--run", str(student)])
    quantize.main(["--run", str(student), "--dev", str(DEV)])
    report = json.loads((student / "quantize.json").read_text())
    assert report["label_agreement_0.5"] > 0.9
    package.main(
        [
            "--run",
            str(student),
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
    assert manifest.rating == RATING_MEDIAN and isinstance(manifest.decision, RegionDecision)
    assert manifest.files["model.onnx"] == sha256((out / "model.onnx").read_bytes())
    assert manifest.metrics["export"]["members"][0]["checkpoint"].endswith("best.pt")
    capsys.readouterr()
    evaluate.main(["--artifact", str(out), "--data", str(TEST), "--threads", "1"])
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["n"] == 600
    for key in ("nsmc_accuracy", "macro_f1", "rating_mae", "confidence_ece"):
        assert metrics[key] >= 0
    assert load_scorer(str(out)).score(["재밌다"])[0].model_version == "tiny-1"
    check_pooled_package(out, teachers / "ngram" / "member.npz", tmp_path / "pooled", capsys)


def check_pooled_package(
    network: Path, member: Path, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The network artifact + the n-gram member -> one pooled artifact, scored by the runtime."""
    capsys.readouterr()
    package.main(
        [
            "--from-artifact",
            str(network),
            "--ngram",
            str(member),
            "--version",
            "tiny-pooled-1",
            "--out",
            str(out),
            "--dev",
            str(DEV),
        ]
    )
    dev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(dev) == {"dev", "dev_network_alone", "dev_ngram_alone"}
    manifest = Manifest.from_bytes((out / "manifest.json").read_bytes())
    assert manifest.pooling is not None
    assert manifest.pooling.members == ("model.onnx", "ngram.npz")
    assert manifest.files["ngram.npz"] == sha256(member.read_bytes())
    assert manifest.metrics["network_from"] == "tiny-1"
    assert "int8_vs_fp32_dev" in manifest.metrics
    scorer = load_scorer(str(out))
    assert scorer.ngram is not None and scorer.version == "tiny-pooled-1"
    evaluate.main(["--artifact", str(out), "--data", str(DEV), "--threads", "1"])
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # evaluated through the runtime on dev, the figures are those chosen on dev
    for key in ("nsmc_accuracy", "macro_f1", "rating_mae"):
        assert metrics[key] == pytest.approx(dev["dev"][key], abs=2e-3)


def test_cross_fitted_teacher_predicts_train_out_of_fold(tmp_path: Path) -> None:
    """Fold runs: run k never sees fold k; train rows come from the run that held them out."""
    from model.data import fold_ids
    from model.teacher_predict import predict_split

    runs = [tmp_path / "f0", tmp_path / "f1"]
    teachers = tmp_path / "teachers"
    for k, run in enumerate(runs):
        tokenizer.main(["--run", str(run), "--train", str(TRAIN), "--vocab-size", "300"])
        train_tiny(run, "--fold", str(k), "--folds", "2", "--seed", str(k))
    teacher_predict.main(
        [
            "--run",
            *map(str, runs),
            "--name",
            "cf",
            "--threads",
            "1",
            "--data-dir",
            str(FIXTURES),
            "--out",
            str(teachers),
            "--splits",
            "train",
            "dev",
        ]
    )
    out = soft_targets.load(teachers / "cf" / "train.npz")
    fold = fold_ids(len(out), 2)
    for k, run in enumerate(runs):
        own = predict_split(run, "best.pt", TRAIN)
        assert out.positivity[fold == k] == pytest.approx(own.positivity[fold == k])
    dev = soft_targets.load(teachers / "cf" / "dev.npz")
    means = [predict_split(run, "best.pt", DEV).positivity for run in runs]
    assert dev.positivity == pytest.approx(np.mean(means, axis=0), abs=1e-6)
    with pytest.raises(SystemExit):  # runs out of order
        teacher_predict.main(
            ["--run", *map(str, runs[::-1]), "--name", "x", "--out", str(teachers)]
        )


def test_training_without_a_fold_drops_exactly_its_rows(tmp_path: Path) -> None:
    from model.data import fold_ids
    from model.encoded import encode
    from model.train import without_fold

    tokenizer.main(["--run", str(tmp_path), "--train", str(TRAIN), "--vocab-size", "300"])
    reviews = read_reviews(TRAIN)
    encoded = encode(Tokenizer.from_file(str(tmp_path / "tokenizer.json")), reviews)
    kept, teacher = without_fold(encoded, None, 1, 3)
    keep = fold_ids(len(reviews), 3) != 1
    assert teacher is None and len(kept) == int(keep.sum())
    assert np.array_equal(kept.ratings, reviews.ratings[keep])
    first = int(np.flatnonzero(keep)[0])
    assert (
        kept.ids[: kept.lengths[0]].tolist()
        == encoded.ids[encoded.offsets[first] : encoded.offsets[first + 1]].tolist()
    )


def test_distillation_pulls_the_student_towards_the_teacher(tmp_path: Path) -> None:
    """With distill=1 and targets that invert the gold labels, the student follows the targets."""
    from model.checkpoint import load_net
    from model.encoded import encode
    from model.train import predict_outputs

    run, soft = tmp_path / "run", tmp_path / "soft"
    tokenizer.main(["--run", str(run), "--train", str(TRAIN), "--vocab-size", "400"])
    reviews = read_reviews(TRAIN)
    flipped = 11 - reviews.ratings  # 1 <-> 10, 4 <-> 7, ...
    inverted = soft_targets.SoftTargets(
        (reviews.ratings <= 4).astype(np.float32),
        np.eye(10, dtype=np.float32)[flipped - 1],
        reviews.ratings,
    )
    soft_targets.save(soft / "train.npz", inverted)
    train_tiny(run, "--soft-targets", str(soft), "--distill", "1", "--epochs", "3", "--lr", "1e-2")
    net = load_net(run / "last.pt")
    tok = Tokenizer.from_file(str(run / "tokenizer.json"))
    positivity, _ = predict_outputs(net, encode(tok, reviews))
    polar = (reviews.ratings <= 4) | (reviews.ratings >= 9)
    agree_with_gold = np.mean((positivity[polar] >= 0.5) == (reviews.ratings[polar] >= 9))
    assert agree_with_gold < 0.3


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
