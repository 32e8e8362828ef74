"""A bounded, thread-safe memory of recent answers, each kept while the caller finds it fresh.

What identity remembers per instance (verified tokens until their exp, accounts' standing
for a few seconds) is one mechanism: a least-recently-used map of at most `size` entries.
Freshness is the caller's rule, asked on each read, so a stale entry is simply looked up
again and replaced.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Remembered(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, fresh: Callable[[V], bool]) -> V | None:
        """The value remembered for `key` if `fresh(value)`, else None."""
        with self._lock:
            value = self._entries.get(key)
            if value is None or not fresh(value):
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Remember `value`, forgetting the least recently used entry past `size`."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
