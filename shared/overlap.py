"""One overlapped batch loop: batch n+1 is prepared while batch n commits.

The bulk walks (uploads/pipeline.py, rescore/walk.py) read and score a batch on the caller's
thread (ONNX Runtime releases the GIL) while the previous batch commits on a second thread.
At most one commit is in flight and commits run in order, so memory holds two batches and
each commit starts from the state the previous one left (its checkpoint: what its fence
expects). A failed commit outranks whatever stopped the loop (the caller's own error, a
deadline): that batch must be retried, so its error is the one the caller sees.

    with overlapped(progress, "upload-commit") as commits:
        for batch in batches:
            prepared = prepare(batch)  # overlaps the commit in flight
            commits.submit(commit, prepared)  # commit(state, prepared) -> the next state
    return commits.state
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Concatenate, Generic, ParamSpec, TypeVar

S = TypeVar("S")
P = ParamSpec("P")


class Commits(Generic[S]):
    """The commits of one loop, one at a time, in order, on a thread of their own."""

    def __init__(self, state: S, pool: ThreadPoolExecutor) -> None:
        self._state = state
        self._pool = pool
        self._pending: Future[S] | None = None

    @property
    def state(self) -> S:
        """The state the last finished commit left (the start state before any)."""
        return self._state

    def submit(
        self, commit: Callable[Concatenate[S, P], S], *args: P.args, **kwargs: P.kwargs
    ) -> S:
        """Once the commit in flight is done, start `commit(state, *args, **kwargs)` on the
        state it left; returns that state. A failed commit raises here."""
        state = self.wait()
        # the commit runs in the caller's context (its trace span, its log fields)
        run = contextvars.copy_context().run
        self._pending = self._pool.submit(run, commit, state, *args, **kwargs)  # type: ignore[arg-type]
        return state

    def wait(self) -> S:
        """The state once no commit is in flight; a failed commit raises here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._state = pending.result()
        return self._state


@contextmanager
def overlapped(state: S, name: str) -> Iterator[Commits[S]]:
    """Commits starting from `state` on a thread named `name`, all finished on leaving."""
    with ThreadPoolExecutor(1, thread_name_prefix=name) as pool:
        commits = Commits(state, pool)
        try:
            yield commits
        finally:
            # a failed commit outranks whatever stopped the loop: it must be retried
            commits.wait()
