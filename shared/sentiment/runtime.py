"""The per-instance scorer singleton used by the serving functions."""

from __future__ import annotations

import logging
import threading
import time

from shared.errors import ModelUnavailable
from shared.sentiment.artifact import ArtifactError
from shared.sentiment.scorer import Scorer, load_scorer
from shared.settings import get_settings

log = logging.getLogger(__name__)
RETRY_BACKOFF_S = 1.0

_lock = threading.Lock()
_scorer: Scorer | None = None
_failure: tuple[float, str] | None = None  # (monotonic time, detail) of the last failed load


def get_scorer() -> Scorer:
    """The instance's scorer, loaded on first use from ``settings.model_uri``.

    Raises ``ModelUnavailable`` (503) when the artifact is missing, corrupted or
    unreachable. Failures are retried on a later call (after a short backoff).
    """
    global _scorer, _failure
    if _scorer is not None:
        return _scorer
    with _lock:
        if _scorer is not None:
            return _scorer
        if _failure and time.monotonic() - _failure[0] < RETRY_BACKOFF_S:
            raise ModelUnavailable(_failure[1])
        settings = get_settings()
        try:
            scorer = load_scorer(settings.model_uri, threads=settings.model_threads)
            scorer.engine.batch_size = settings.model_batch_size
            _ = scorer.engine.session  # open the ONNX Runtime session now, under the lock
        except ArtifactError as exc:
            detail = f"sentiment model unavailable: {exc}"
            _failure = (time.monotonic(), detail)
            log.error(detail)
            raise ModelUnavailable(detail) from exc
        except Exception as exc:
            detail = f"sentiment model unavailable: cannot load {settings.model_uri}: {exc!r}"
            _failure = (time.monotonic(), detail)
            log.error(detail)
            raise ModelUnavailable(detail) from exc
        _scorer, _failure = scorer, None
        log.info("sentiment model %s loaded from %s", scorer.version, settings.model_uri)
        return scorer


def reset_scorer() -> None:
    """Forget the loaded scorer and any remembered failure (tests)."""
    global _scorer, _failure
    with _lock:
        _scorer, _failure = None, None
