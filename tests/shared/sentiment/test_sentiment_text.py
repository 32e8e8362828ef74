"""The shared normaliser, and that the shipped tokenizer.json carries exactly it."""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

import pytest
from tokenizers import Regex, Tokenizer, models, normalizers

from shared.sentiment.text import MAX_RUN, SQUASHED_CHARS, build_normalizer, normalize

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


def per_character_squash() -> normalizers.Normalizer:
    """v1-v3's normaliser: one ``X{3,} -> XX`` pass per squashed character."""
    steps: list[normalizers.Normalizer] = [normalizers.NFKC(), normalizers.Lowercase()]
    for char in sorted({unicodedata.normalize("NFKC", c) for c in SQUASHED_CHARS}):
        pattern = f"{re.escape(char)}{{{MAX_RUN + 1},}}"
        steps.append(normalizers.Replace(Regex(pattern), char * MAX_RUN))
    steps += [normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()]
    return normalizers.Sequence(steps)


def test_one_pass_squash_equals_the_per_character_passes() -> None:
    """Older artifacts' tokenizers and this normaliser give the same text."""
    rng = random.Random(0)
    alphabet = SQUASHED_CHARS + "ａ한 \t\nＡ。．！～"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(5000)]
    old, new = per_character_squash(), build_normalizer()
    assert [old.normalize_str(t) for t in texts + SAMPLES] == [
        new.normalize_str(t) for t in texts + SAMPLES
    ]
