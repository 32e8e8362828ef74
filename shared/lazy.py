"""Lazy[T]: a per-process resource (a pool, a client, a model) built on first use.

Never at import or cold start: the first get() builds it, under a lock, so concurrent first
calls build it once. Every Lazy is registered, so reset_all() forgets them all at once (a
test switching databases, emulators or settings starts from what a fresh instance has).

A resource may be closed when forgotten (`close`), remember a failed build for a while so a
burst of calls does not retry it on every request (`retry_after`), expire (`ttl`), or be
built for the value of another call (`built_for`, e.g. the settings: rebuilt when they change).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class _Resettable(Protocol):
    def reset(self) -> None: ...


_registry: weakref.WeakSet[_Resettable] = weakref.WeakSet()


@dataclass(frozen=True, slots=True)
class _Held(Generic[T]):
    value: T
    at: float  # time.monotonic() when it was built
    built_for: object


class Lazy(Generic[T]):
    """A resource built by `build` on first use and kept until reset()."""

    def __init__(
        self,
        build: Callable[[], T],
        *,
        close: Callable[[T], None] | None = None,
        retry_after: float = 0.0,
        ttl: float | None = None,
        built_for: Callable[[], object] | None = None,
    ) -> None:
        self._build = build
        self._close = close
        self._retry_after = retry_after
        self._ttl = ttl
        self._built_for = built_for
        self._lock = threading.Lock()
        self._held: _Held[T] | None = None
        self._failure: tuple[float, Exception] | None = None  # when, and what, if remembered
        _registry.add(self)

    def get(self) -> T:
        """The resource, built now if there is none (or it expired, or was built for another
        value); a failed build raises, and again within `retry_after` without retrying."""
        held = self._held
        if held is not None and self._current(held):
            return held.value
        with self._lock:
            held = self._held
            if held is not None and self._current(held):
                return held.value
            self._drop()
            if self._failure and time.monotonic() - self._failure[0] < self._retry_after:
                raise self._failure[1].with_traceback(None)  # not one more frame per call
            built_for = self._built_for() if self._built_for else None
            try:
                value = self._build()
            except Exception as error:
                self._failure = (time.monotonic(), error) if self._retry_after else None
                raise
            self._held, self._failure = _Held(value, time.monotonic(), built_for), None
            return value

    def reset(self) -> None:
        """Forget the resource (closing it) and any remembered failure."""
        with self._lock:
            self._drop()
            self._failure = None

    def _current(self, held: _Held[T]) -> bool:
        if self._ttl is not None and time.monotonic() - held.at >= self._ttl:
            return False
        return self._built_for is None or self._built_for() is held.built_for

    def _drop(self) -> None:
        held, self._held = self._held, None
        if held is not None and self._close is not None:
            self._close(held.value)


def reset_all() -> None:
    """Forget every registered resource: what a fresh instance starts from."""
    for lazy in list(_registry):
        lazy.reset()
