"""The runtime scorer: an artifact loaded from bytes, scoring batches of reviews."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.sentiment.artifact import ArtifactError, fetch_artifact
from shared.sentiment.decision import LABELS, RATING_LINEAR, ratings
from shared.sentiment.engine import Engine, Outputs
from shared.sentiment.manifest import Manifest
from shared.sentiment.ngram_member import FILE as NGRAM_FILE
from shared.sentiment.ngram_member import NgramMember
from shared.sentiment.pooling import from_probabilities


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
        self.pooling = manifest.pooling
        self.ngram = member(files) if self.pooling else None

    def outputs(self, texts: Sequence[str]) -> Outputs:
        """Model outputs (positivity, rating probabilities) in input order: the network's,
        or with a pooled artifact the log-linear pool of the network and the n-gram member."""
        if self.pooling is None or self.ngram is None:
            out = self.engine.run(texts)
            return Outputs(out.positivity, None) if self.manifest.rating == RATING_LINEAR else out
        normalised = self.engine.normalised(texts)
        network = self.engine.start(normalised, normalised=True)
        ngram = self.ngram.member_logits(normalised)  # while the network's runs go on
        out = network()
        if out.rating_probs is None:  # refused by Manifest.validate; kept for the type checker
            raise ValueError("pooling needs the network's rating distribution")
        members = [from_probabilities(out.positivity, out.rating_probs), ngram]
        return Outputs(*self.pooling.pool(members))

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


def member(files: dict[str, bytes]) -> NgramMember:
    """The artifact's n-gram member; a malformed file is an ``ArtifactError`` (503)."""
    try:
        return NgramMember.from_bytes(files[NGRAM_FILE])
    except (KeyError, ValueError, OSError) as exc:
        raise ArtifactError(f"{NGRAM_FILE} is not a valid n-gram member: {exc!r}") from exc


def load_scorer(uri: str, threads: int = 1) -> Scorer:
    """Fetch and verify the artifact at ``uri`` (no caching); raises ``ArtifactError``."""
    manifest, files = fetch_artifact(uri)
    return Scorer(manifest, files, threads=threads)
