"""Upload a review file to the (emulated) uploads bucket and wait for its report.

    python -m infra.upload FILE [--bucket uploads] [--name NAME] [--timeout 600]

Prints the report JSON; exits 0 when the upload is done, 1 when it failed, 2 on timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from shared import storage

CHUNK = 1 << 20  # a multiple of 256 KiB, as resumable uploads require
POLL_SECONDS = 0.5


def upload(path: Path, bucket: str, name: str) -> int:
    """Chunked upload with a progress bar; return the new generation."""
    client = storage.get_client()
    target = client.lookup_bucket(bucket) or client.create_bucket(bucket)
    blob = target.blob(name, chunk_size=CHUNK)
    size = path.stat().st_size
    with path.open("rb") as source, tqdm.wrapattr(source, "read", total=size, desc=name) as wrapped:
        blob.upload_from_file(wrapped, size=size)
    blob.reload()
    return int(blob.generation)


def wait_for_report(bucket: str, name: str, generation: int, timeout: float) -> dict[str, Any]:
    """Poll reports/<name>.json until it describes `generation`."""
    blob = storage.get_client().bucket(bucket).blob(f"reports/{name}.json")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if blob.exists():
            report: dict[str, Any] = json.loads(blob.download_as_bytes())
            if report.get("generation") == str(generation):
                return report
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"no report for gs://{bucket}/{name}#{generation} in {timeout:.0f}s")


LOCAL_EMULATOR = "http://127.0.0.1:9023"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--bucket", default="uploads")
    parser.add_argument("--name", help="object name (default: the file's name)")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    # a local tool: without an explicit target it talks to `make run`'s emulator
    os.environ.setdefault("STORAGE_EMULATOR_HOST", LOCAL_EMULATOR)
    name = args.name or args.file.name
    generation = upload(args.file, args.bucket, name)
    print(
        f"uploaded gs://{args.bucket}/{name}#{generation}; waiting for its report", file=sys.stderr
    )
    try:
        report = wait_for_report(args.bucket, name, generation, args.timeout)
    except TimeoutError as error:
        print(error, file=sys.stderr)
        return 2
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if report.get("status") == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
