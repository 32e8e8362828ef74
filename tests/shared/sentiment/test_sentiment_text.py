"""The shared normaliser, and that the shipped tokenizer.json carries exactly it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models

from shared.sentiment.text import build_normalizer, normalize

SAMPLES = ["  ㅋㅋㅋㅋㅋ 좋아요!!!!!   ㅠㅠㅠㅠ ...... ＡＢＣ ^^^^ ", "최고\t\n영화", "ㅎㅎ", ""]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ㅋㅋㅋㅋㅋ", "ᄏᄏ"),
        ("좋아요!!!!!", "좋아요!!"),
        ("  너무   재밌다  ", "너무 재밌다"),
        ("ＡＢＣ", "abc"),
        ("ㅠㅠ", "ᅲᅲ"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_shipped_tokenizer_uses_the_shared_normalizer(artifact_dir: Path) -> None:
    shipped = json.loads((artifact_dir / "tokenizer.json").read_text())["normalizer"]
    reference = Tokenizer(models.BPE())
    reference.normalizer = build_normalizer()
    assert shipped == json.loads(reference.to_str())["normalizer"]
    tokenizer = Tokenizer.from_file(str(artifact_dir / "tokenizer.json"))
    for text in SAMPLES:
        assert tokenizer.normalizer is not None
        assert tokenizer.normalizer.normalize_str(text) == normalize(text)
