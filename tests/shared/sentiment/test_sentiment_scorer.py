"""The committed artifact scored through the runtime scorer (local folder)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from shared.sentiment import Scorer, Sentiment, load_scorer
from shared.sentiment.decision import LABELS

POSITIVE = [
    "정말 최고의 영화입니다. 배우들 연기도 훌륭하고 감동적이에요",
    "인생 영화 ㅠㅠ 몇 번을 봐도 재밌다 강력 추천합니다!!",
    "너무 재밌어요 시간 가는 줄 몰랐네요 ㅋㅋㅋㅋㅋ 최고",
]
NEGATIVE = [
    "최악의 영화. 돈 아깝고 시간 아깝다",
    "스토리도 엉망이고 연기도 형편없다. 보지 마세요",
    "진짜 지루하고 재미없음 졸다가 나왔다",
]
MIXED = [
    *POSITIVE,
    *NEGATIVE,
    "그냥 그랬다",
    "",
    "   ",
    "ㅋ" * 500,
    "평범한 영화지만 배우는 좋았다. " * 40,
    "Good movie!",
    "😀👍",
    "7점 정도",
]


def test_clear_reviews_get_expected_labels(scorer: Scorer) -> None:
    results = scorer.score(POSITIVE + NEGATIVE)
    assert [r.label for r in results[:3]] == ["positive"] * 3
    assert [r.label for r in results[3:]] == ["negative"] * 3
    assert all(r.positivity > 0.8 for r in results[:3])
    assert all(r.positivity < 0.2 for r in results[3:])
    assert all(r.rating > 7 for r in results[:3])
    assert all(r.rating < 4 for r in results[3:])


def test_fields_are_in_range(scorer: Scorer, artifact_dir: Path) -> None:
    version = json.loads((artifact_dir / "manifest.json").read_text())["version"]
    results = scorer.score(MIXED)
    assert len(results) == len(MIXED)
    for result in results:
        assert isinstance(result, Sentiment)
        assert result.label in {"positive", "neutral", "negative"}
        assert 0.0 <= result.positivity <= 1.0
        assert 0.0 <= result.confidence <= 1.0
        assert 1.0 <= result.rating <= 10.0
        assert result.model_version == version == scorer.version


def test_label_and_confidence_follow_the_manifest_decision(scorer: Scorer) -> None:
    out = scorer.outputs(MIXED)
    labels, confidence = scorer.manifest.decision.decide(
        out.positivity.astype(np.float64), out.rating_probs
    )
    results = scorer.score(MIXED)
    assert [r.label for r in results] == [LABELS[k] for k in labels]
    assert [r.confidence for r in results] == pytest.approx(confidence.tolist())


def test_batch_matches_single(scorer: Scorer) -> None:
    batch = scorer.score(MIXED)
    singles = [scorer.score([text])[0] for text in MIXED]
    for one, many in zip(singles, batch, strict=True):
        # dynamic INT8 quantises activations per batch: tiny differences, same labels
        assert one.label == many.label
        assert one.positivity == pytest.approx(many.positivity, abs=0.02)
        assert one.rating == pytest.approx(many.rating, abs=0.1)


def test_empty_input_and_string_input(scorer: Scorer) -> None:
    assert scorer.score([]) == []
    with pytest.raises(TypeError):
        scorer.score("not a list")  # a str is a Sequence[str] to mypy; the runtime refuses it


def test_concurrent_scoring_matches_serial(scorer: Scorer) -> None:
    texts = MIXED * 3
    serial = scorer.score(texts)
    singles = [scorer.score([t])[0] for t in MIXED]
    results: list[list[Sentiment]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                results.append(scorer.score(texts))
                results.append(scorer.score(MIXED[:1]) + scorer.score(MIXED[1:2]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results) == 48
    for result in results:
        assert result in (serial, singles[:2])


def test_normalising_once_then_encoding_gives_the_same_tokens(scorer: Scorer) -> None:
    """A pooled artifact normalises once for both members: the network must not notice."""
    engine = scorer.engine
    normalised = engine.normalised(MIXED)
    assert engine.encode(normalised, normalised=True) == engine.encode(MIXED)
    for text, once in zip(MIXED, normalised, strict=True):
        assert engine.encode([once], normalised=True) == engine.encode([text])


def test_sub_batches_side_by_side_score_as_one_at_a_time(artifact_dir: Path) -> None:
    """MODEL_THREADS=3: a batch's sub-batches run on three threads, results in input order,
    equal to one run at a time (each sub-batch is the same ONNX run either way)."""
    texts = [f"{text} {i}" for i, text in enumerate(MIXED * 10)]
    serial = load_scorer(str(artifact_dir), threads=1)
    parallel = load_scorer(str(artifact_dir), threads=3)
    for scorer in (serial, parallel):
        scorer.engine.batch_size = 8  # 18 sub-batches
    assert parallel.score(texts) == serial.score(texts)
    assert parallel.engine._runs is not None  # they did run side by side
    assert serial.engine._runs is None
    assert parallel.score(texts[:1]) == serial.score(texts[:1])  # one text: alone, as before


def test_a_sub_batch_is_padded_to_its_longest_text_only(
    artifact_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every padded step is a whole LSTM step for every row: no rounding up of widths."""
    scorer = load_scorer(str(artifact_dir), threads=1)
    engine = scorer.engine
    engine.batch_size = 2
    widths: list[int] = []
    run_arrays = engine._run_arrays

    def recorded(input_ids: np.ndarray, mask: np.ndarray) -> object:
        widths.append(input_ids.shape[1])
        return run_arrays(input_ids, mask)

    monkeypatch.setattr(engine, "_run_arrays", recorded)
    texts = [
        "최고",
        "정말 재미있는 영화였어요",
        "별로",
        "배우들의 연기가 훌륭하고 이야기도 탄탄했다. 다시 보고 싶다",
    ]
    lengths = sorted(len(ids) for ids in engine.encode(texts))
    scorer.score(texts)
    assert widths == [lengths[1], lengths[3]]  # sorted by length, two texts a run
    assert all(width % 8 for width in widths)  # widths a rounding to multiples of 8 changes
