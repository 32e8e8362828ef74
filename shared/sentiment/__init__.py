"""Runtime sentiment scoring: load a verified artifact, score reviews in batches.

The scorer type (scored.py) is imported as is; the runtime's names load on first use
(PEP 562), so importing this package loads no numpy, tokenizers or ONNX Runtime until
something asks for a scorer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shared.sentiment.scored import Scored, ScoreFn

if TYPE_CHECKING:
    from shared.sentiment.runtime import get_scorer, reset_scorer
    from shared.sentiment.scorer import Scorer, Sentiment, load_scorer

_RUNTIME = {
    "get_scorer": "shared.sentiment.runtime",
    "reset_scorer": "shared.sentiment.runtime",
    "Scorer": "shared.sentiment.scorer",
    "Sentiment": "shared.sentiment.scorer",
    "load_scorer": "shared.sentiment.scorer",
}


def __getattr__(name: str) -> Any:
    if name not in _RUNTIME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_RUNTIME[name]), name)


__all__ = [
    "ScoreFn",
    "Scored",
    "Scorer",
    "Sentiment",
    "get_scorer",
    "load_scorer",
    "reset_scorer",
]
