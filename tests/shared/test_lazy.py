"""shared.lazy: built once on first use, forgotten (and closed) by reset; a failed build is
remembered for retry_after; ttl and built_for rebuild; reset_all forgets every one."""

from __future__ import annotations

import threading
import time

import pytest

from shared.lazy import Lazy, reset_all


class Builds:
    """A build function that counts its calls (and can be made to fail)."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing = False

    def __call__(self) -> list[int]:
        self.calls += 1
        if self.failing:
            raise ConnectionError(f"build {self.calls} failed")
        return [self.calls]


def test_built_once_on_first_use_even_by_concurrent_callers() -> None:
    build = Builds()
    lazy = Lazy(build)
    assert build.calls == 0  # nothing at construction (import time)
    start = threading.Barrier(8)
    results: list[list[int]] = []

    def first_use() -> None:
        start.wait()
        results.append(lazy.get())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert build.calls == 1 and all(result is results[0] for result in results)


def test_reset_closes_and_forgets() -> None:
    closed: list[list[int]] = []
    lazy = Lazy(Builds(), close=closed.append)
    first = lazy.get()
    lazy.reset()
    assert closed == [first]
    assert lazy.get() == [2]
    lazy.reset()
    lazy.reset()  # nothing held: nothing to close
    assert closed == [first, [2]]


def test_a_failure_is_remembered_for_retry_after_then_retried() -> None:
    build = Builds()
    build.failing = True
    lazy = Lazy(build, retry_after=0.2)
    with pytest.raises(ConnectionError, match="build 1"):
        lazy.get()
    build.failing = False
    with pytest.raises(ConnectionError, match="build 1"):  # the same failure, not a retry
        lazy.get()
    assert build.calls == 1
    time.sleep(0.25)
    assert lazy.get() == [2]


def test_without_retry_after_every_call_retries() -> None:
    build = Builds()
    build.failing = True
    lazy = Lazy(build)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            lazy.get()
    assert build.calls == 2


def test_reset_forgets_a_remembered_failure() -> None:
    build = Builds()
    build.failing = True
    lazy = Lazy(build, retry_after=60.0)
    with pytest.raises(ConnectionError):
        lazy.get()
    build.failing = False
    lazy.reset()
    assert lazy.get() == [2]


def test_ttl_rebuilds_once_expired() -> None:
    lazy = Lazy(Builds(), ttl=0.1)
    assert lazy.get() == [1] and lazy.get() == [1]
    time.sleep(0.15)
    assert lazy.get() == [2]


def test_built_for_rebuilds_when_that_value_changes() -> None:
    closed: list[list[int]] = []
    current = [object()]
    lazy = Lazy(Builds(), built_for=lambda: current[0], close=closed.append)
    assert lazy.get() == [1] and lazy.get() == [1]
    current[0] = object()  # e.g. another Settings object
    assert lazy.get() == [2] and closed == [[1]]


def test_reset_all_forgets_every_lazy() -> None:
    first, second = Lazy(Builds()), Lazy(Builds())
    first.get()
    second.get()
    reset_all()
    assert first.get() == [2] and second.get() == [2]
