"""The runtime scorer: an artifact loaded from bytes, scoring batches of reviews."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.sentiment.artifact import fetch_artifact
from shared.sentiment.decision import LABELS, RATING_LINEAR, ratings
from shared.sentiment.engine import Engine, Outputs
from shared.sentiment.manifest import Manifest


@dataclass(frozen=True, slots=True)
class Sentiment:
    """One review's score."""

    label: str  # "positive" | "neutral" | "negative"
    positivity: float  # P(positive) in [0, 1]
    confidence: float  # in [0, 1]
    rating: float  # predicted rating in [1, 10] (see shared/sentiment/decision.py)
    model_version: str


class Scorer:
    """Scores review texts with one verified artifact; safe to share across threads."""

    def __init__(
        self, manifest: Manifest, files: dict[str, bytes], threads: int = 1, batch_size: int = 64
    ) -> None:
        self.manifest = manifest
        self.version = manifest.version
        self.engine = Engine(
            files["model.onnx"],
            files["tokenizer.json"].decode("utf-8"),
            max_length=manifest.max_length,
            inputs=manifest.inputs,
            outputs=manifest.outputs,
            threads=threads,
            pad_id=manifest.pad_id,
            unk_id=manifest.unk_id,
            batch_size=batch_size,
        )

    def outputs(self, texts: Sequence[str]) -> Outputs:
        """Raw model outputs (positivity, rating probabilities) in input order."""
        out = self.engine.run(texts)
        if self.manifest.rating == RATING_LINEAR:
            return Outputs(out.positivity, None)
        return out

    def score(self, texts: Sequence[str]) -> list[Sentiment]:
        """One ``Sentiment`` per text, in order."""
        if isinstance(texts, str):
            raise TypeError("score() takes a sequence of texts, not a single string")
        if not texts:
            return []
        out = self.outputs(texts)
        # whole-array work only (a one-row batch costs microseconds); every rule keeps
        # its output in range, so nothing is clipped here
        positivity = out.positivity.astype(np.float64)
        probs = None if out.rating_probs is None else out.rating_probs.astype(np.float64)
        labels, conf = self.manifest.decision.decide(positivity, probs)
        rating = ratings(positivity, probs, self.manifest.rating)
        version = self.version
        return [
            Sentiment(LABELS[k], p, c, r, version)
            for k, p, c, r in zip(
                labels.tolist(), positivity.tolist(), conf.tolist(), rating.tolist(), strict=True
            )
        ]


def load_scorer(uri: str, threads: int = 1) -> Scorer:
    """Fetch and verify the artifact at ``uri`` (no caching); raises ``ArtifactError``."""
    manifest, files = fetch_artifact(uri)
    return Scorer(manifest, files, threads=threads)
