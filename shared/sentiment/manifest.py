"""The artifact manifest: what the runtime needs to know about a model folder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from shared.sentiment.decision import (
    LABELS,
    RATING_EXPECTED,
    RATING_LINEAR,
    RATING_MODES,
    BandDecision,
    Decision,
    RegionDecision,
    decision_from_dict,
)
from shared.sentiment.ngram_member import FILE as NGRAM_FILE
from shared.sentiment.pooling import Pooling

MANIFEST = "manifest.json"
NETWORK = "model.onnx"
# Member files a pooled artifact may list after the network (see shared.sentiment.pooling).
POOLABLE = (NGRAM_FILE,)


class ManifestError(ValueError):
    """The manifest is missing a field or holds an invalid value."""


@dataclass(frozen=True)
class Manifest:
    """Parsed ``manifest.json``."""

    name: str
    version: str
    max_length: int
    decision: Decision
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    files: dict[str, str]  # file name -> sha256 hex
    rating: str = RATING_EXPECTED
    pad_id: int = 0
    unk_id: int = 1
    labels: tuple[str, ...] = LABELS
    metrics: dict[str, Any] = field(default_factory=dict)
    pooling: Pooling | None = None  # several members (v4); absent: the network alone

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            manifest = cls(
                name=str(data["name"]),
                version=str(data["version"]),
                max_length=int(data["max_length"]),
                decision=_decision(data),
                inputs=tuple(data["inputs"]),
                outputs=tuple(data["outputs"]),
                files=dict(data["files"]),
                rating=str(data.get("rating", RATING_EXPECTED)),
                pad_id=int(data.get("pad_id", 0)),
                unk_id=int(data.get("unk_id", 1)),
                labels=tuple(data.get("labels", LABELS)),
                metrics=dict(data.get("metrics", {})),
                pooling=Pooling.from_dict(data["pooling"]) if "pooling" in data else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"invalid manifest: {exc!r}") from exc
        manifest.validate()
        return manifest

    def validate(self) -> None:
        try:
            self.decision.validate()
        except ValueError as exc:
            raise ManifestError(str(exc)) from exc
        if tuple(self.labels) != LABELS:
            raise ManifestError(f"labels must be {LABELS}, got {self.labels}")
        if not {NETWORK, "tokenizer.json"} <= set(self.files):
            raise ManifestError("manifest must list model.onnx and tokenizer.json")
        if self.rating not in RATING_MODES:
            raise ManifestError(f"unknown rating mode {self.rating!r}")
        has_head = "rating_probs" in self.outputs
        if self.rating != RATING_LINEAR and not has_head:
            raise ManifestError(f"rating mode {self.rating!r} needs a rating_probs output")
        if isinstance(self.decision, RegionDecision) and not has_head:
            raise ManifestError("the region decision needs a rating_probs output")
        if self.pooling is not None:
            self.validate_pooling(self.pooling, has_head)

    def validate_pooling(self, pooling: Pooling, has_head: bool) -> None:
        members = pooling.members
        if members[0] != NETWORK or not set(members[1:]) <= set(POOLABLE):
            raise ManifestError(f"pooling members must be {NETWORK} then any of {POOLABLE}")
        if not set(members) <= set(self.files) or len(set(members)) != len(members):
            raise ManifestError("every pooling member must be a distinct file of the manifest")
        if not has_head:
            raise ManifestError("pooling needs the network's rating_probs output")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "labels": list(self.labels),
            "max_length": self.max_length,
        }
        if isinstance(self.decision, BandDecision):  # the field older runtimes read
            data["neutral_band"] = {"low": self.decision.low, "high": self.decision.high}
        else:
            data["decision"] = self.decision.to_dict()
        pooling = {} if self.pooling is None else {"pooling": self.pooling.to_dict()}
        return (
            data
            | {
                "inputs": list(self.inputs),
                "outputs": list(self.outputs),
                "rating": self.rating,
                "pad_id": self.pad_id,
                "unk_id": self.unk_id,
                "files": dict(self.files),
            }
            | pooling
            | {"metrics": self.metrics}
        )

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n").encode()


def _decision(data: dict[str, Any]) -> Decision:
    """The ``decision`` object, or the ``neutral_band`` of artifacts that predate it."""
    if "decision" in data:
        return decision_from_dict(dict(data["decision"]))
    band = data["neutral_band"]
    return BandDecision(float(band["low"]), float(band["high"]))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
