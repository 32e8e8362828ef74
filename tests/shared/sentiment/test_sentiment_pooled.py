"""A pooled artifact (network + n-gram member, one manifest) through the runtime scorer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shared.sentiment import load_scorer
from shared.sentiment.artifact import ArtifactError
from shared.sentiment.decision import LABELS
from shared.sentiment.manifest import Manifest, sha256
from shared.sentiment.ngram_member import FILE, N_OUTPUTS, NgramMember
from shared.sentiment.ngrams import Featurizer, Vocabulary, char_ngrams, word_ngrams
from shared.sentiment.pooling import from_probabilities, pool

TEXTS = [
    "정말 최고의 영화입니다. 배우들 연기도 훌륭하고 감동적이에요",
    "최악의 영화. 돈 아깝고 시간 아깝다",
    "그냥 그랬다",
    "",
    "ㅋ" * 300,
]
WEIGHTS = {"positivity_weights": [0.8, 0.6], "rating_weights": [0.9, 0.4]}


def toy_member(texts: list[str], seed: int = 5) -> NgramMember:
    """A member over the n-grams of ``texts`` with random weights (the runtime does not care)."""
    rng = np.random.default_rng(seed)
    char = np.unique(char_ngrams(texts, 4).keys)
    word = np.unique(word_ngrams(texts, 2).keys)
    weights = rng.normal(scale=0.5, size=(len(char) + len(word), N_OUTPUTS))
    featurizer = Featurizer(
        Vocabulary(char, np.full(len(char), 1.5, np.float32)),
        Vocabulary(word, np.full(len(word), 2.0, np.float32)),
    )
    return NgramMember(
        featurizer,
        weights.astype(np.float32),
        rng.normal(size=N_OUTPUTS).astype(np.float32),
    )


def pooled_artifact(folder: Path, source: Path, member_bytes: bytes, **pooling: Any) -> Path:
    """``source``'s network and tokenizer with a member pooled in (sha256 of every file)."""
    folder.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copyfile(source / name, folder / name)
    (folder / FILE).write_bytes(member_bytes)
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = {
        n: sha256((folder / n).read_bytes()) for n in ("model.onnx", "tokenizer.json", FILE)
    }
    manifest["pooling"] = {"members": ["model.onnx", FILE]} | WEIGHTS | pooling
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture
def member() -> NgramMember:
    return toy_member(TEXTS)


def test_scores_are_the_decision_over_the_pooled_outputs(
    tmp_path: Path, artifact_dir: Path, member: NgramMember
) -> None:
    folder = pooled_artifact(tmp_path / "pooled", artifact_dir, member.to_bytes())
    scorer = load_scorer(str(folder))
    assert scorer.manifest.pooling is not None and scorer.ngram is not None
    network = scorer.engine.run(TEXTS)
    assert network.rating_probs is not None
    served_member = NgramMember.from_bytes(member.to_bytes())  # float16 weights, as shipped
    expected_positivity, expected_probs = pool(
        [
            from_probabilities(network.positivity, network.rating_probs),
            served_member.member_logits(scorer.engine.normalised(TEXTS)),
        ],
        WEIGHTS["positivity_weights"],
        WEIGHTS["rating_weights"],
    )
    labels, confidence = scorer.manifest.decision.decide(expected_positivity, expected_probs)
    results = scorer.score(TEXTS)
    assert [r.positivity for r in results] == pytest.approx(expected_positivity.tolist())
    assert [r.label for r in results] == [LABELS[k] for k in labels]
    assert [r.confidence for r in results] == pytest.approx(confidence.tolist())
    # the member moves the outputs: not the network alone
    alone = load_scorer(str(artifact_dir)).outputs(TEXTS).positivity
    assert not np.allclose(alone, expected_positivity, atol=1e-3)
    singles = [scorer.score([t])[0] for t in TEXTS]
    assert [s.label for s in singles] == [r.label for r in results]


def test_pooling_needs_its_member_listed_and_a_member_alone_is_not_pooled(
    tmp_path: Path, artifact_dir: Path, member: NgramMember
) -> None:
    folder = pooled_artifact(tmp_path / "unlisted", artifact_dir, member.to_bytes())
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"][FILE]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ArtifactError, match="pooling member"):
        load_scorer(str(folder))
    del manifest["pooling"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    scorer = load_scorer(str(folder))
    assert scorer.ngram is None
    network = scorer.engine.run(TEXTS).positivity
    assert [r.positivity for r in scorer.score(TEXTS)] == pytest.approx(network.tolist())


@pytest.mark.parametrize(
    "members", [["ngram.npz", "model.onnx"], ["model.onnx", "other.npz"], ["model.onnx"]]
)
def test_invalid_pooling_members_are_refused(
    tmp_path: Path, artifact_dir: Path, member: NgramMember, members: list[str]
) -> None:
    weights = {"positivity_weights": [1.0] * len(members), "rating_weights": [1.0] * len(members)}
    folder = pooled_artifact(
        tmp_path / "pooled", artifact_dir, member.to_bytes(), members=members, **weights
    )
    with pytest.raises(ArtifactError):
        load_scorer(str(folder))


def test_corrupted_or_malformed_member_is_unavailable(
    tmp_path: Path, artifact_dir: Path, member: NgramMember
) -> None:
    folder = pooled_artifact(tmp_path / "tampered", artifact_dir, member.to_bytes())
    data = bytearray((folder / FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / FILE).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="corrupted"):
        load_scorer(str(folder))
    malformed = pooled_artifact(tmp_path / "malformed", artifact_dir, b"not a member")
    with pytest.raises(ArtifactError, match="not a valid n-gram member"):
        load_scorer(str(malformed))


def test_pooling_round_trips_through_the_manifest(
    tmp_path: Path, artifact_dir: Path, member: NgramMember
) -> None:
    folder = pooled_artifact(tmp_path / "pooled", artifact_dir, member.to_bytes())
    manifest = Manifest.from_bytes((folder / "manifest.json").read_bytes())
    assert manifest.pooling is not None
    assert manifest.pooling.positivity_weights == (0.8, 0.6)
    assert Manifest.from_bytes(manifest.to_bytes()) == manifest
