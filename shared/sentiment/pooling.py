"""Log-linear pooling of several members' outputs into one (positivity, rating distribution).

A member contributes its positivity logit and its rating log-probabilities; the pool is
``sigmoid(sum_i w_i logit_i)`` and ``softmax(sum_i v_i log p_i)``, with non-negative
weights fitted on dev (``model.ensemble``). The weights need not sum to one, so they
also set the pool's temperature. Training (teacher ensembles) and serving (an artifact
with several members) share this code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

EPS = 1e-7


@dataclass(frozen=True)
class MemberLogits:
    """One member's outputs in the log domain."""

    positivity: np.ndarray  # (n,) logit of P(positive)
    rating: np.ndarray  # (n, 10) log-probabilities (or logits: pooling renormalises)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p.astype(np.float64), EPS, 1 - EPS)
    out: np.ndarray = np.log(p) - np.log1p(-p)
    return out


def log_probs(probs: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.log(np.maximum(probs.astype(np.float64), EPS))
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e: np.ndarray = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|
    return out


def from_probabilities(positivity: np.ndarray, rating_probs: np.ndarray) -> MemberLogits:
    """A member that outputs probabilities (the ONNX network), in the log domain."""
    return MemberLogits(logit(positivity), log_probs(rating_probs))


LOGIT_LIMIT = float(np.log((1 - EPS) / EPS))
LOG_EPS = float(np.log(EPS))


def from_logits(positivity_logit: np.ndarray, rating_logits: np.ndarray) -> MemberLogits:
    """A member that outputs logits: ``from_probabilities(sigmoid(z), softmax(r))`` without
    the round trip (the same clipping, a third of the array operations)."""
    shifted = rating_logits - rating_logits.max(axis=1, keepdims=True)
    rating = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return MemberLogits(
        np.clip(positivity_logit, -LOGIT_LIMIT, LOGIT_LIMIT), np.maximum(rating, LOG_EPS)
    )


def pool(
    members: Sequence[MemberLogits],
    positivity_weights: Sequence[float],
    rating_weights: Sequence[float],
) -> tuple[np.ndarray, np.ndarray]:
    """(P(positive) (n,), rating distribution (n, 10)) of the weighted log-linear pool."""
    z = sum(w * m.positivity for w, m in zip(positivity_weights, members, strict=True))
    r = sum(v * m.rating for v, m in zip(rating_weights, members, strict=True))
    return sigmoid(np.asarray(z)), softmax(np.asarray(r))


@dataclass(frozen=True)
class Pooling:
    """Per-member weights for the positivity logit and the rating log-probabilities."""

    members: tuple[str, ...]  # artifact files, in pooling order
    positivity_weights: tuple[float, ...]
    rating_weights: tuple[float, ...]

    def validate(self) -> None:
        sizes = {len(self.members), len(self.positivity_weights), len(self.rating_weights)}
        if len(sizes) != 1 or len(self.members) < 2:
            raise ValueError("pooling needs two or more members, one weight of each kind each")
        if min(self.positivity_weights + self.rating_weights) < 0.0:
            raise ValueError("pooling weights must be non-negative")

    def pool(self, members: Sequence[MemberLogits]) -> tuple[np.ndarray, np.ndarray]:
        """(P(positive) (n,), rating distribution (n, 10)) of the pooled members."""
        return pool(members, self.positivity_weights, self.rating_weights)

    def to_dict(self) -> dict[str, Any]:
        return {
            "members": list(self.members),
            "positivity_weights": list(self.positivity_weights),
            "rating_weights": list(self.rating_weights),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pooling:
        """Parse a manifest's ``pooling`` object; raises ValueError, KeyError or TypeError."""
        pooling = cls(
            tuple(str(m) for m in data["members"]),
            tuple(float(w) for w in data["positivity_weights"]),
            tuple(float(v) for v in data["rating_weights"]),
        )
        pooling.validate()
        return pooling
