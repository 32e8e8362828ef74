"""Step 1: train the subword tokenizer on the train split -> ``<run>/tokenizer.json``.

``python -m model.tokenizer --run model/runs/main``
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from model.data import read_reviews
from model.paths import RUNS_DIR, split_file
from shared.sentiment.text import build_normalizer

log = logging.getLogger(__name__)
PAD, UNK = "[PAD]", "[UNK]"  # the special tokens, in this order:
PAD_ID, UNK_ID = 0, 1  # their ids


def build_tokenizer(
    texts: list[str], vocab_size: int, max_length: int, alphabet: int = 2500
) -> Tokenizer:
    """A byte-free BPE over normalised text with Metaspace word boundaries.

    With ``vocab_size`` at most the alphabet there are no merges: every syllable
    (and the word-boundary mark) is one token, the ``alphabet`` most frequent kept.
    """
    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.normalizer = build_normalizer()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=3,
        special_tokens=[PAD, UNK],
        limit_alphabet=alphabet,
        show_progress=True,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=RUNS_DIR / "main")
    parser.add_argument("--train", type=Path, default=None, help="train TSV (default: corpus)")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument(
        "--alphabet",
        type=int,
        default=2500,
        help="characters kept (the most frequent); others become [UNK]",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    reviews = read_reviews(args.train or split_file("train"))
    tokenizer = build_tokenizer(reviews.texts, args.vocab_size, args.max_length, args.alphabet)
    args.run.mkdir(parents=True, exist_ok=True)
    out = args.run / "tokenizer.json"
    tokenizer.save(str(out))
    log.info("tokenizer: %d tokens -> %s", tokenizer.get_vocab_size(), out)


if __name__ == "__main__":
    main()
