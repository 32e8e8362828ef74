"""shared.overlap: batch n+1 is prepared while n commits; commits one at a time, in order;
a failed commit wins over whatever stopped the loop."""

from __future__ import annotations

import threading

import pytest

from shared.overlap import overlapped

WAIT = 10.0  # seconds: only a broken loop waits this long


class Boom(RuntimeError):
    pass


def test_commits_chain_their_state_in_order() -> None:
    committed: list[int] = []

    def commit(total: int, batch: int) -> int:
        committed.append(batch)
        return total + batch

    with overlapped(0, "test-commit") as commits:
        seen = [commits.submit(commit, batch) for batch in (1, 2, 3, 4)]
    assert committed == [1, 2, 3, 4]
    assert seen == [0, 1, 3, 6]  # each submit returns the state the previous commit left
    assert commits.state == 10


def test_the_next_batch_is_prepared_while_one_commits() -> None:
    preparing = threading.Event()

    def commit(state: int, batch: int) -> int:
        # batch 1 can only finish once batch 2 is being prepared: they overlap
        assert batch != 1 or preparing.wait(WAIT)
        return state + 1

    with overlapped(0, "test-commit") as commits:
        commits.submit(commit, 1)
        preparing.set()  # preparing batch 2, with batch 1 still in flight
        commits.submit(commit, 2)
    assert commits.state == 2


def test_at_most_one_commit_is_in_flight() -> None:
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def commit(state: int, batch: int) -> int:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        threading.Event().wait(0.01)
        with lock:
            in_flight -= 1
        return state

    with overlapped(0, "test-commit") as commits:
        for batch in range(5):
            commits.submit(commit, batch)
    assert most == 1


def test_a_failed_commit_surfaces_at_the_next_submit() -> None:
    def commit(state: int, batch: int) -> int:
        if batch == 2:
            raise Boom("batch 2")
        return batch

    with pytest.raises(Boom), overlapped(0, "test-commit") as commits:
        for batch in (1, 2, 3):
            commits.submit(commit, batch)
    assert commits.state == 1  # batch 3 never started: it would have followed a failure


def test_a_failed_commit_wins_over_what_stopped_the_loop() -> None:
    def commit(state: int, batch: int) -> int:
        raise Boom("the commit failed")

    with pytest.raises(Boom) as caught, overlapped(0, "test-commit") as commits:
        commits.submit(commit, 1)
        raise TimeoutError("out of time")  # the loop stops while the commit is in flight
    assert isinstance(caught.value.__context__, TimeoutError)


def test_what_stopped_the_loop_surfaces_once_the_commit_is_done() -> None:
    done: list[int] = []

    def commit(state: int, batch: int) -> int:
        done.append(batch)
        return batch

    with pytest.raises(TimeoutError), overlapped(0, "test-commit") as commits:
        commits.submit(commit, 1)
        raise TimeoutError("out of time")
    assert done == [1] and commits.state == 1  # the batch in flight was committed
