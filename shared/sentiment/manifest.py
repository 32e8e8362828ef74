"""The artifact manifest: what the runtime needs to know about a model folder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

MANIFEST = "manifest.json"
LABELS = ("negative", "neutral", "positive")
RATING_EXPECTED = "expected"  # rating = E[rating] under the model's 1..10 softmax
RATING_LINEAR = "linear"  # rating = 1 + 9 * positivity (models without a rating head)


class ManifestError(ValueError):
    """The manifest is missing a field or holds an invalid value."""


@dataclass(frozen=True)
class Manifest:
    """Parsed ``manifest.json``."""

    name: str
    version: str
    max_length: int
    neutral_band: tuple[float, float]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    files: dict[str, str]  # file name -> sha256 hex
    rating: str = RATING_EXPECTED
    pad_id: int = 0
    unk_id: int = 1
    labels: tuple[str, ...] = LABELS
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            band = data["neutral_band"]
            manifest = cls(
                name=str(data["name"]),
                version=str(data["version"]),
                max_length=int(data["max_length"]),
                neutral_band=(float(band["low"]), float(band["high"])),
                inputs=tuple(data["inputs"]),
                outputs=tuple(data["outputs"]),
                files=dict(data["files"]),
                rating=str(data.get("rating", RATING_EXPECTED)),
                pad_id=int(data.get("pad_id", 0)),
                unk_id=int(data.get("unk_id", 1)),
                labels=tuple(data.get("labels", LABELS)),
                metrics=dict(data.get("metrics", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"invalid manifest: {exc!r}") from exc
        manifest.validate()
        return manifest

    def validate(self) -> None:
        low, high = self.neutral_band
        if not 0.0 <= low <= high <= 1.0:
            raise ManifestError(f"invalid neutral band {self.neutral_band}")
        if tuple(self.labels) != LABELS:
            raise ManifestError(f"labels must be {LABELS}, got {self.labels}")
        if not {"model.onnx", "tokenizer.json"} <= set(self.files):
            raise ManifestError("manifest must list model.onnx and tokenizer.json")
        if self.rating not in (RATING_EXPECTED, RATING_LINEAR):
            raise ManifestError(f"unknown rating mode {self.rating!r}")
        if self.rating == RATING_EXPECTED and "rating_probs" not in self.outputs:
            raise ManifestError("rating mode 'expected' needs a rating_probs output")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "labels": list(self.labels),
            "max_length": self.max_length,
            "neutral_band": {"low": self.neutral_band[0], "high": self.neutral_band[1]},
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "rating": self.rating,
            "pad_id": self.pad_id,
            "unk_id": self.unk_id,
            "files": dict(self.files),
            "metrics": self.metrics,
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
