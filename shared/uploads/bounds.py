"""What one object may cost: the rejected lines kept, and when rejects stop the file.

A small upload must not turn into a huge amount of work or output (a 1.5 KB gzip of
500,000 `{}` lines once wrote 500,000 reject rows and a 55 MB rejects object). So:

* every rejected line is counted (`rejected`), but only the first UPLOAD_MAX_REJECTS of
  them, and only while their raw text and reasons fit UPLOAD_MAX_REJECT_BYTES, are kept
  (upload_rejects, then the rejects object); a fan-out shard keeps its share of both;
* once UPLOAD_REJECT_RATIO_MIN_LINES lines are counted, a file (or shard) whose rejected
  share is over UPLOAD_MAX_REJECT_RATIO stops: `failed: too many rejects`. What committed
  before stays committed, as with every cap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shared.settings import Settings
from shared.uploads.ledger import Progress, reject_bytes
from shared.uploads.lines import Rejected


@dataclass(frozen=True)
class RejectCaps:
    count: int
    bytes: int

    @classmethod
    def of(cls, settings: Settings, shards: int = 1) -> RejectCaps:
        """The caps of one object, or of one of its `shards` byte-range shards."""
        return cls(
            math.ceil(settings.upload_max_rejects / shards),
            math.ceil(settings.upload_max_reject_bytes / shards),
        )

    def keep(self, progress: Progress, rejected: Sequence[Rejected]) -> list[Rejected]:
        """The batch's rejected lines to keep, in line order, after what `progress` kept."""
        kept: list[Rejected] = []
        room, used = self.count - progress.rejects_kept, progress.reject_bytes
        for reject in sorted(rejected, key=lambda r: r.line):
            size = reject_bytes([reject])
            if len(kept) >= room or used + size > self.bytes:
                break
            kept.append(reject)
            used += size
        return kept


def too_many_rejects(progress: Progress, settings: Settings) -> str | None:
    """Why the file stops on its rejects, or None while it may go on."""
    lines, rejected = progress.lines, progress.rejected
    if lines < settings.upload_reject_ratio_min_lines:
        return None
    if rejected <= settings.upload_max_reject_ratio * lines:
        return None
    return (
        f"too many rejects: {rejected} of the first {lines} lines "
        f"(more than {settings.upload_max_reject_ratio:.0%})"
    )
