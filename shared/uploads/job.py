"""Process one uploaded object outside the event path, with no time budget.

    python -m shared.uploads.job gs://uploads/big.jsonl[#GENERATION]

For a Cloud Run job (task timeout up to 24 h) or an operator re-running an object by hand.
It takes the same lease and ledger row as event deliveries, so running it while Eventarc
is still retrying the object is safe: whichever holds the lease works, the other waits or
finds the object finished, and either resumes from the last committed batch.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from shared import logs, storage
from shared.settings import get_settings
from shared.uploads import handler
from shared.uploads.event import UploadObject


def locate(uri: str) -> UploadObject:
    """gs://bucket/name#generation; without a generation, the object's current one."""
    path, _, generation = uri.partition("#")
    bucket, name = storage.split_uri(path)
    blob = storage.get_client().bucket(bucket).get_blob(name)
    if blob is None:
        raise SystemExit(f"{path} does not exist")
    return UploadObject(bucket, name, int(generation or blob.generation), int(blob.size))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri", help="gs://bucket/object[#generation]")
    args = parser.parse_args(argv)
    progress = handler.process(locate(args.uri), budget=math.inf)  # only the job's timeout
    print(
        json.dumps(
            {
                "status": progress.status,
                "lines": progress.lines,
                "inserted": progress.inserted,
                "duplicates": progress.duplicates,
                "rejected": progress.rejected,
                "error": progress.error,
            }
        )
    )
    return 0 if progress.status == "done" else 1


if __name__ == "__main__":
    logs.configure(get_settings().log_level)
    sys.exit(main())
