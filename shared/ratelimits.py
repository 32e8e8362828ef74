"""Per-client rate limits in this instance's memory (the `limits` library's moving window).

Each instance keeps its own windows, so with N instances a client may get up to N times the
limit: a limit here protects an instance and answers a friendly 429 with Retry-After; a
global cap per address belongs at the load balancer (Cloud Armor, docs/deploy.md). The
console limits per client address, the API per account and per API key.
"""

from __future__ import annotations

import threading
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class RateLimiter:
    """A moving-window limit per (kind, client), e.g. ("write", "account:<uid>")."""

    def __init__(self) -> None:
        self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._items: dict[str, RateLimitItem] = {}
        self._lock = threading.Lock()

    def _item(self, rate: str) -> RateLimitItem:
        with self._lock:
            if rate not in self._items:
                self._items[rate] = parse(rate)
            return self._items[rate]

    def hit(self, kind: str, client: str, rate: str) -> int | None:
        """Count one request; None if allowed, else the seconds until the next one is."""
        item = self._item(rate)
        if self._limiter.hit(item, kind, client):
            return None
        reset_at, _remaining = self._limiter.get_window_stats(item, kind, client)
        return max(1, int(reset_at - time.time()) + 1)
