"""The lease and the fence: what keeps concurrent deliveries from double counting."""

from __future__ import annotations

import threading

import pytest

from shared import db
from shared.uploads import handler, ledger
from shared.uploads.event import UploadObject
from shared.uploads.ledger import BatchCounts, LostLease, UploadBusy

OBJ = UploadObject("uploads", "x.jsonl", 7, 10)


def test_a_held_lease_makes_other_deliveries_wait_then_give_up(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with ledger.lease(OBJ, wait_seconds=1):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        monkeypatch.setattr(handler, "LEASE_WAIT_SECONDS", 0.3)
        with pytest.raises(UploadBusy):
            handler.process(OBJ, score=lambda texts: [])
    finally:
        release.set()
        holder.join(10)
    with ledger.lease(OBJ, wait_seconds=1):  # released with its transaction
        pass


def test_a_batch_commits_only_on_the_checkpoint_it_started_from(database: str) -> None:
    progress = ledger.claim(OBJ)
    assert (progress.status, progress.checkpoint_line, progress.attempts) == ("processing", 0, 1)
    counts = BatchCounts(
        to_line=5, lines=5, inserted=0, duplicates=0, rejected=5, model_version=None
    )
    with db.transaction() as conn:
        ledger.fence(conn, OBJ, 0)
        ledger.record_batch(conn, OBJ, counts, [])
    with pytest.raises(LostLease), db.transaction() as conn:
        ledger.fence(conn, OBJ, 0)  # someone else already moved it to 5
    assert ledger.current(OBJ).checkpoint_line == 5
    assert ledger.claim(OBJ).attempts == 2
