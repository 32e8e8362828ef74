"""Token ids of a split as one flat array plus offsets, cached per run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from model.data import Reviews


@dataclass(frozen=True)
class Encoded:
    """Ragged token ids: row i is ``ids[offsets[i]:offsets[i + 1]]``."""

    ids: np.ndarray  # int32
    offsets: np.ndarray  # int64, n + 1
    ratings: np.ndarray  # int64, n

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.ratings)

    def subset(self, rows: np.ndarray) -> Encoded:
        """The rows ``rows`` (in that order) as a new ``Encoded``."""
        lengths = self.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        starts = self.offsets[rows]
        flat = np.repeat(starts - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
        return Encoded(self.ids[flat], offsets, self.ratings[rows])

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded (input_ids, attention_mask) for ``rows``."""
        lengths = self.lengths[rows]
        width = max(int(lengths.max()), 1)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        for out_row, (row, length) in enumerate(zip(rows, lengths, strict=True)):
            start = self.offsets[row]
            ids[out_row, :length] = self.ids[start : start + length]
        mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
        return torch.from_numpy(ids), torch.from_numpy(mask)


def encode(tokenizer: Tokenizer, reviews: Reviews) -> Encoded:
    """Tokenise every review (truncation as configured in the tokenizer)."""
    chunks = [e.ids or [1] for e in tokenizer.encode_batch(reviews.texts)]
    lengths = np.fromiter((len(c) for c in chunks), dtype=np.int64, count=len(chunks))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = np.fromiter((i for c in chunks for i in c), dtype=np.int32, count=int(offsets[-1]))
    return Encoded(ids, offsets, reviews.ratings)


def cached_encode(tokenizer: Tokenizer, reviews: Reviews, path: Path) -> Encoded:
    """``encode`` with an ``.npz`` cache at ``path``."""
    if path.exists():
        data = np.load(path)
        if len(data["ratings"]) == len(reviews):
            return Encoded(data["ids"], data["offsets"], data["ratings"])
    enc = encode(tokenizer, reviews)
    np.savez(path, ids=enc.ids, offsets=enc.offsets, ratings=enc.ratings)
    return enc
