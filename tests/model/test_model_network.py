"""The network's hashed n-grams, padding invariance and the syllable tokenizer."""

from __future__ import annotations

from pathlib import Path

import torch

from model import tokenizer
from model.network import HASH_PRIME, NetConfig, SentimentNet, hashed_ngrams

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nsmc"


def test_bigram_and_trigram_hashes_are_unchanged() -> None:
    """Orders 2 and 3 hash exactly as the shipped graphs do; higher orders stay in range."""
    ids = torch.randint(0, 8000, (4, 20))
    grams, valid = hashed_ngrams(ids, torch.ones_like(ids), 100_003)
    a, b, c = ids[:, :-2], ids[:, 1:-1], ids[:, 2:]
    bigram = (ids[:, :-1] * HASH_PRIME + ids[:, 1:]) % 100_003
    trigram = ((a * HASH_PRIME + b) * HASH_PRIME + c + 7) % 100_003
    assert torch.equal(grams, torch.cat([bigram, trigram], dim=1))
    grams, valid = hashed_ngrams(ids, torch.ones_like(ids), 100_003, max_order=5)
    assert grams.shape == valid.shape == (4, 19 + 18 + 17 + 16)
    assert int(grams.min()) >= 0 and int(grams.max()) < 100_003


def test_padding_never_changes_a_rows_result() -> None:
    torch.manual_seed(0)
    net = SentimentNet(
        NetConfig(
            vocab_size=50,
            embed_dim=8,
            hidden=8,
            ngram_buckets=101,
            ngram_dim=4,
            ngram_max=4,
            head_dim=8,
        )
    ).eval()
    short = torch.tensor([[5, 6, 7]])
    padded = torch.tensor([[5, 6, 7, 0, 0], [9, 8, 7, 6, 5]])
    mask = (padded != 0).long()
    with torch.no_grad():
        alone = net(short, torch.ones_like(short))
        batch = net(padded, mask)
    assert torch.allclose(alone[0], batch[0][:1], atol=1e-6)
    assert torch.allclose(alone[1], batch[1][:1], atol=1e-6)


def test_syllable_tokenizer_has_one_token_per_character(tmp_path: Path) -> None:
    """A vocabulary no larger than the alphabet means no merges: one syllable, one token."""
    tokenizer.main(
        [
            "--run",
            str(tmp_path),
            "--train",
            str(FIXTURES / "reviews-train.tsv.gz"),
            "--vocab-size",
            "10",
            "--alphabet",
            "400",
            "--max-length",
            "256",
        ]
    )
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    encoding = tok.encode("영화 좋다")
    assert all(len(token) == 1 for token in encoding.tokens)
    assert len(encoding.tokens) == len("▁영화▁좋다")
    assert tok.truncation is not None and tok.truncation["max_length"] == 256
