"""The sparse linear member: hashed n-gram TF-IDF -> positivity logit and rating logits.

Stored in an artifact as one ``.npz`` (no pickles): both vocabularies (sorted hashes and
idf), the weight matrix (float16 on disk, one row per n-gram, columns: the positivity
logit then the 10 rating logits) and the bias. Scoring is numpy only: features of the
whole batch (``shared.sentiment.ngrams``), then each row's weighted sum of its n-grams'
weight rows with one ``np.add.reduceat`` per family.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.sentiment.ngrams import (
    SparseRows,
    Vocabulary,
    char_ngrams,
    tfidf,
    truncated,
    word_ngrams,
)
from shared.sentiment.pooling import MemberLogits, from_probabilities, sigmoid, softmax

FILE = "ngram.npz"
N_OUTPUTS = 11  # positivity logit + 10 rating logits


@dataclass(frozen=True)
class NgramMember:
    """Vocabularies, weights (len(char) + len(word), 11) and bias (11,)."""

    char: Vocabulary
    word: Vocabulary
    weights: np.ndarray  # float32; word rows follow the character rows
    bias: np.ndarray  # float32
    char_max: int = 4
    word_max: int = 2

    def validate(self) -> None:
        if self.weights.shape != (len(self.char) + len(self.word), N_OUTPUTS):
            raise ValueError(f"n-gram weights have shape {self.weights.shape}")
        if self.bias.shape != (N_OUTPUTS,):
            raise ValueError(f"n-gram bias has shape {self.bias.shape}")
        for vocabulary in (self.char, self.word):
            if len(vocabulary.idf) != len(vocabulary) or np.any(np.diff(vocabulary.keys) == 0):
                raise ValueError("n-gram vocabulary keys must be unique, one idf each")

    def features(self, texts: Sequence[str]) -> tuple[SparseRows, SparseRows]:
        """TF-IDF rows of the (normalised) texts, characters then words."""
        texts = truncated(texts)
        return (
            tfidf(char_ngrams(texts, self.char_max), self.char),
            tfidf(word_ngrams(texts, self.word_max), self.word),
        )

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 11): bias + sum over each row's n-grams of value x weight row."""
        out = np.tile(self.bias, (len(texts), 1))
        chars, words = self.features(texts)
        for sparse, offset in ((chars, 0), (words, len(self.char))):
            if len(sparse.rows):
                contributions = sparse.values[:, None] * self.weights[sparse.columns + offset]
                starts = np.flatnonzero(np.diff(sparse.rows, prepend=-1))
                out[sparse.rows[starts]] += np.add.reduceat(contributions, starts, axis=0)
        return out

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(P(positive) (n,), rating distribution (n, 10)) of the (normalised) texts."""
        z = self.logits(texts).astype(np.float64)
        return sigmoid(z[:, 0]), softmax(z[:, 1:])

    def member_logits(self, texts: Sequence[str]) -> MemberLogits:
        """Its pooling input, through the probabilities like every member's (same clipping)."""
        return from_probabilities(*self.probabilities(texts))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            char_keys=self.char.keys,
            char_idf=self.char.idf,
            word_keys=self.word.keys,
            word_idf=self.word.idf,
            weights=self.weights.astype(np.float16),
            bias=self.bias.astype(np.float32),
            orders=np.array([self.char_max, self.word_max], dtype=np.int64),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> NgramMember:
        """Parse the ``.npz``; raises ValueError (or KeyError) when it is not a member."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            char_max, word_max = (int(x) for x in arrays["orders"])
            member = cls(
                Vocabulary(arrays["char_keys"].astype(np.uint64), arrays["char_idf"]),
                Vocabulary(arrays["word_keys"].astype(np.uint64), arrays["word_idf"]),
                arrays["weights"].astype(np.float32),
                arrays["bias"].astype(np.float32),
                char_max,
                word_max,
            )
        member.validate()
        return member
