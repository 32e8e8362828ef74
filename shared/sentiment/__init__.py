"""Runtime sentiment scoring: load a verified artifact, score reviews in batches."""

from __future__ import annotations

from shared.sentiment.runtime import get_scorer, reset_scorer
from shared.sentiment.scorer import Scorer, Sentiment, load_scorer

__all__ = ["Scorer", "Sentiment", "get_scorer", "load_scorer", "reset_scorer"]
