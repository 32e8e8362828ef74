"""The per-instance scorer used by the serving functions and the jobs: loaded on first use."""

from __future__ import annotations

import logging

from shared.errors import ModelUnavailable
from shared.lazy import Lazy
from shared.sentiment.artifact import ArtifactError
from shared.sentiment.scorer import Scorer, load_scorer
from shared.settings import get_settings

log = logging.getLogger(__name__)
RETRY_BACKOFF_S = 1.0  # a failed load answers 503 for this long before it is tried again


def _load() -> Scorer:
    settings = get_settings()
    try:
        scorer = load_scorer(settings.model_uri, threads=settings.model_threads)
        scorer.engine.batch_size = settings.model_batch_size
        _ = scorer.engine.session  # open the ONNX Runtime session now, under the lock
    except ArtifactError as exc:
        detail = f"sentiment model unavailable: {exc}"
        log.error(detail)
        raise ModelUnavailable(detail) from exc
    except Exception as exc:
        detail = f"sentiment model unavailable: cannot load {settings.model_uri}: {exc!r}"
        log.error(detail)
        raise ModelUnavailable(detail) from exc
    log.info("sentiment model %s loaded from %s", scorer.version, settings.model_uri)
    return scorer


_scorer: Lazy[Scorer] = Lazy(_load, retry_after=RETRY_BACKOFF_S)


def get_scorer() -> Scorer:
    """The instance's scorer, loaded on first use from ``settings.model_uri``.

    Raises ``ModelUnavailable`` (503) when the artifact is missing, corrupted or
    unreachable. Failures are retried on a later call (after a short backoff).
    """
    return _scorer.get()


def reset_scorer() -> None:
    """Forget the loaded scorer and any remembered failure (tests)."""
    _scorer.reset()
