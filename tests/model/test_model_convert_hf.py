"""convert_hf on a tiny random BERT classifier with a tokenizer built here (no download)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from model import convert_hf
from model.random_bert import save_random_bert
from shared.sentiment import load_scorer

TEXTS = ["정말 재밌는 영화", "최악의 영화", "그냥 그래요", "", "좋다 " * 200]


def tiny_hf_model(folder: Path) -> None:
    """A 2-layer, hidden-32 BertForSequenceClassification and a WordPiece fast tokenizer."""
    from tokenizers import normalizers

    corpus = ["정말 재밌는 영화 최고", "최악의 영화 시간 아깝다", "그냥 그래요 보통"] * 20
    save_random_bert(
        folder,
        corpus,
        vocab_size=120,
        normalizer=normalizers.NFKC(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=160,
    )


@pytest.fixture(scope="module")
def hf_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hf") / "tiny-bert"
    tiny_hf_model(folder)
    return folder


def test_convert_tiny_bert(hf_source: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    dst = tmp_path / "artifact"
    convert_hf.main([str(hf_source), str(dst), "--version", "hf-tiny-1", "--max-length", "64"])
    manifest = json.loads((dst / "manifest.json").read_text())
    assert manifest["rating"] == "linear"
    assert manifest["outputs"] == ["positivity"]
    assert set(manifest["files"]) == {"model.onnx", "tokenizer.json"}

    scorer = load_scorer(str(dst))
    results = scorer.score(TEXTS)
    assert [r.model_version for r in results] == ["hf-tiny-1"] * len(TEXTS)
    for result in results:
        assert result.rating == pytest.approx(1 + 9 * result.positivity, abs=1e-6)
        assert 0 <= result.confidence <= 1

    model = AutoModelForSequenceClassification.from_pretrained(hf_source).eval()
    tokenizer = AutoTokenizer.from_pretrained(hf_source)
    batch = tokenizer(TEXTS[:3], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = torch.softmax(model(**batch).logits, dim=-1)[:, 1].numpy()
    got = [r.positivity for r in results[:3]]
    assert got == pytest.approx(expected.tolist(), abs=0.05)  # INT8 vs FP32 torch
    assert len(results[4:]) == 1  # a long text is truncated to max_length, not rejected


def test_refuses_non_binary_classifier(hf_source: Path, tmp_path: Path) -> None:
    from transformers import BertForSequenceClassification

    three = tmp_path / "three"
    model = BertForSequenceClassification.from_pretrained(
        hf_source, num_labels=3, ignore_mismatched_sizes=True
    )
    model.save_pretrained(three)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (hf_source / name).exists():
            (three / name).write_bytes((hf_source / name).read_bytes())
    with pytest.raises(SystemExit, match="2-label"):
        convert_hf.main([str(three), str(tmp_path / "out")])
