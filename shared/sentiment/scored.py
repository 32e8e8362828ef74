"""The one scorer type: what a score is (Scored) and what scores texts (ScoreFn).

Imports nothing of the model runtime, so code that only passes scores around (reviews,
uploads, rescoring) loads numpy, tokenizers and ONNX Runtime only when it first scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol


class Scored(Protocol):
    """A sentiment result: shared.sentiment.Sentiment, or a test's own."""

    @property
    def label(self) -> str: ...
    @property
    def positivity(self) -> float: ...
    @property
    def confidence(self) -> float: ...
    @property
    def rating(self) -> float: ...
    @property
    def model_version(self) -> str: ...


# scores for the texts, in their order: Scorer.score, reviews.score, or a test's own
ScoreFn = Callable[[list[str]], Sequence[Scored]]
