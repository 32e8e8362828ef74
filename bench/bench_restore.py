"""Benchmark the restore drill on a 100k-review database: how long a point-in-time restore takes.

    .venv/bin/python bench/bench_restore.py [--reviews 100000] [--upload-lines 3000]

Runs `python -m infra.restore drill` in-process (infra/restore.py): WAL archiving on an
embedded PostgreSQL, a base backup under writes and an upload, a restore of it to a new data
directory and a point in time, and the checks. "restore" is the recovery time objective's
local counterpart: copy the base backup into a new data directory, replay the archived WAL
to the target, promote, accept connections.

Target: restore <= 60 s for 100k reviews (stated with the database size).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra import restore
from infra.localpg import hand_over

TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--upload-lines", type=int, default=3_000)
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    root = hand_over(Path(tempfile.mkdtemp(prefix="bench-restore-")))
    try:
        with restore.storage_emulator():
            result = restore.run_drill(restore.Drill(root, args.reviews, args.upload_lines))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    seconds = result.seconds
    verdict = "met" if seconds["restore"] <= TARGET_SECONDS else "NOT met"
    print(f"\nrestore drill, {result.reviews:,} reviews, database {result.size_mb:.1f} MB")
    print(f"{'phase':<14}{'seconds':>10}")
    for phase in ("seed", "backup", "restore", "checks", "total"):
        print(f"{phase:<14}{seconds[phase]:>10.1f}")
    print(f"restore {seconds['restore']:.1f} s: target <= {TARGET_SECONDS:.0f} s {verdict}")
    print(result.line())


if __name__ == "__main__":
    main()
