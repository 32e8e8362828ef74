"""Public sentiment previews, bounded so that anonymous callers cannot monopolise an instance.

Scoring is CPU work in a public endpoint. The policy (also in the OpenAPI description):
one text per request, at most 2,000 characters (a batch needs the API key and goes to
/sentiment:batch); at most SENTIMENT_PREVIEW_CONCURRENCY previews scored at once per
instance, and a preview that finds them all busy is answered 429 with Retry-After at once
rather than queued, so a flood of previews costs at most that many cores' worth of scoring
per instance and writes and reads keep their share. Per-client rate limits belong in front
of the service (Cloud Armor at the load balancer, docs/deploy.md).
"""

from __future__ import annotations

import threading

from shared import reviews
from shared.errors import TooManyRequests
from shared.lazy import Lazy
from shared.sentiment.scored import Scored
from shared.settings import get_settings

POLICY = (
    "Public: one text of at most 2,000 characters (for many texts, `POST /sentiment:batch` "
    "with an API key). An instance scores a bounded number of previews at once "
    "(SENTIMENT_PREVIEW_CONCURRENCY); when all are busy the answer is 429 with Retry-After."
)


def _slots_for_settings() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(get_settings().sentiment_preview_concurrency)


_slots = Lazy(_slots_for_settings)


def reset() -> None:
    """Forget the slots (tests change the setting between instances)."""
    _slots.reset()


def preview(text: str) -> Scored:
    """Score one text if a preview slot is free; TooManyRequests (429) if none is."""
    slots = _slots.get()
    if not slots.acquire(blocking=False):
        raise TooManyRequests("the instance is scoring as many previews as it allows; retry")
    try:
        return reviews.score([text])[0]
    finally:
        slots.release()
