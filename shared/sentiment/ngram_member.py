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

from shared.sentiment.ngrams import Featurizer, Vocabulary
from shared.sentiment.pooling import MemberLogits, from_logits, sigmoid, softmax

FILE = "ngram.npz"
N_OUTPUTS = 11  # positivity logit + 10 rating logits
CHUNK = 256  # texts per feature pass: bounds the working set (~55k n-grams)


@dataclass(frozen=True)
class NgramMember:
    """The featurizer, weights (features, 11) and bias (11,)."""

    featurizer: Featurizer
    weights: np.ndarray  # float16 or float32; word rows follow the character rows
    bias: np.ndarray  # float32

    def validate(self) -> None:
        if self.weights.shape != (len(self.featurizer), N_OUTPUTS):
            raise ValueError(f"n-gram weights have shape {self.weights.shape}")
        if self.bias.shape != (N_OUTPUTS,):
            raise ValueError(f"n-gram bias has shape {self.bias.shape}")
        for vocabulary in (self.featurizer.char, self.featurizer.word):
            if len(vocabulary.idf) != len(vocabulary) or np.any(np.diff(vocabulary.keys) <= 0):
                raise ValueError("n-gram vocabulary keys must be sorted and unique, one idf each")

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 11): bias + sum over each row's n-grams of value x weight row."""
        out = np.tile(self.bias, (len(texts), 1))
        for start in range(0, len(texts), CHUNK):
            sparse = self.featurizer.features(texts[start : start + CHUNK])
            if len(sparse.rows):
                # float32 values x float16 rows -> float32 (half the memory traffic);
                # np.take gathers rows about twice as fast as fancy indexing
                rows = np.take(self.weights, sparse.columns, axis=0)
                contributions = sparse.values[:, None] * rows
                starts = np.flatnonzero(np.diff(sparse.rows, prepend=-1))
                sums = np.add.reduceat(contributions, starts, axis=0)
                out[start + sparse.rows[starts]] += sums
        return out

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(P(positive) (n,), rating distribution (n, 10)) of the (normalised) texts."""
        z = self.logits(texts).astype(np.float64)
        return sigmoid(z[:, 0]), softmax(z[:, 1:])

    def member_logits(self, texts: Sequence[str]) -> MemberLogits:
        """Its pooling input, clipped like every member's (see ``pooling.from_logits``)."""
        z = self.logits(texts).astype(np.float64)
        return from_logits(z[:, 0], z[:, 1:])

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        featurizer = self.featurizer
        np.savez(
            buffer,
            char_keys=featurizer.char.keys,
            char_idf=featurizer.char.idf,
            word_keys=featurizer.word.keys,
            word_idf=featurizer.word.idf,
            weights=self.weights.astype(np.float16),
            bias=self.bias.astype(np.float32),
            orders=np.array([featurizer.char_max, featurizer.word_max], dtype=np.int64),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> NgramMember:
        """Parse the ``.npz``; raises ValueError (or KeyError) when it is not a member."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            char_max, word_max = (int(x) for x in arrays["orders"])
            featurizer = Featurizer(
                Vocabulary(np.asarray(arrays["char_keys"], np.uint64), arrays["char_idf"]),
                Vocabulary(np.asarray(arrays["word_keys"], np.uint64), arrays["word_idf"]),
                char_max,
                word_max,
            )
            member = cls(featurizer, arrays["weights"], arrays["bias"].astype(np.float32))
        member.validate()
        _ = featurizer.index  # built now, at load time, not by the first request
        return member
