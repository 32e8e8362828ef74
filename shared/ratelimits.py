"""Per-client rate limits in this instance's memory (the `limits` library's moving window).

Each instance keeps its own windows, so with N instances a client may get up to N times the
limit: a limit here protects an instance and answers a friendly 429 with Retry-After; a
global cap per address belongs at the load balancer (Cloud Armor, docs/deploy.md). The
console limits per client address, the API per account and per API key.
"""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `limits` is imported by the first limiter, not at every cold start
    from limits import RateLimitItem


class RateLimiter:
    """A moving-window limit per (kind, client), e.g. ("write", "account:<uid>")."""

    def __init__(self) -> None:
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, kind: str, client: str, rate: str) -> int | None:
        """Count one request; None if allowed, else the seconds until the next one is."""
        item = _item(rate)
        if self._limiter.hit(item, kind, client):
            return None
        reset_at, _remaining = self._limiter.get_window_stats(item, kind, client)
        return max(1, int(reset_at - time.time()) + 1)


@cache
def _item(rate: str) -> RateLimitItem:
    """A rate ("30/minute") parsed once per process (settings hold a handful of them)."""
    from limits import parse

    return parse(rate)
