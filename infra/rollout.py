"""Model rollout helpers: relabel an artifact, start the rescoring job and wait for it.

    python -m infra.rollout relabel SOURCE DEST --version NEW
        copy an artifact folder under another version name (to rehearse a rollout without
        training: the manifest's sha256 entries cover the model's files, never the manifest)
    python -m infra.rollout rescore --job projects/P/locations/R/jobs/NAME \\
                                   --model-uri gs://MODELS/sentiment/NEW/ --tasks N
                                   [--wait [--models-bucket MODELS]]
        start one execution of the rescoring job with MODEL_URI and the task count as
        overrides (the Cloud Run Admin API); with --wait, poll it to the end and print the
        execution's summary object, which the job writes to the environment's models bucket:
        --models-bucket (terraform output models_bucket), by default the bucket of a gs://
        --model-uri. Nothing is read from local settings: this runs against the cloud.

The whole procedure (publish, deploy, rescore, verify) is in docs/deploy.md, section 6;
locally `make rescore MODEL_URI=... TASKS=n` runs the same job on the local job runner.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared import storage
from shared.jobs import launcher
from shared.rescore import summary
from shared.sentiment.artifact import fetch_artifact
from shared.sentiment.manifest import MANIFEST

POLL_SECONDS = 15.0
VERSION = re.compile(r"^[A-Za-z0-9._-]+$")  # a folder name under sentiment/ (as in Terraform)


def relabel(source: Path, dest: Path, version: str) -> Path:
    """A verified copy of the artifact at `source` whose manifest says `version`."""
    if not VERSION.match(version):
        raise SystemExit(f"version {version!r} must be letters, digits, '.', '_' or '-'")
    _, files = fetch_artifact(str(source.resolve()))  # verified before anything is copied
    if dest.exists():
        raise SystemExit(f"{dest} already exists")
    dest.mkdir(parents=True)
    for name in sorted(files):
        shutil.copyfile(source / name, dest / name)
    data = json.loads((source / MANIFEST).read_bytes())  # every field kept, only the version
    data["version"] = version
    (dest / MANIFEST).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    fetch_artifact(str(dest.resolve()))  # the copy loads, hashes and all
    return dest


def wait(execution: str, client: Any = None, poll_seconds: float = POLL_SECONDS) -> Any:
    """Poll the execution until it completes; returns its final state."""
    if client is None:
        from google.cloud import run_v2

        client = run_v2.ExecutionsClient()
    while True:
        state = client.get_execution(name=execution)
        print(
            json.dumps(
                {
                    "execution": execution,
                    "running": state.running_count,
                    "succeeded": state.succeeded_count,
                    "failed": state.failed_count,
                    "retried": state.retried_count,
                }
            ),
            flush=True,
        )
        if state.completion_time:
            return state
        time.sleep(poll_seconds)


def summary_bucket(models_bucket: str | None, model_uri: str) -> str:
    """Where the job writes its summary: the environment's models bucket, given or implied."""
    if models_bucket:
        return models_bucket
    if model_uri.startswith("gs://"):
        return storage.split_uri(model_uri)[0]
    raise SystemExit(
        "--wait reads the execution's summary from the environment's models bucket: "
        "pass --models-bucket (terraform output models_bucket)"
    )


def follow(
    execution: str, bucket: str, client: Any = None, poll_seconds: float = POLL_SECONDS
) -> int:
    """Wait for the execution, print its summary from `bucket`; 0 when it succeeded."""
    state = wait(execution, client, poll_seconds)
    body = summary.read(bucket, execution.rsplit("/", 1)[-1])
    print(json.dumps(body, ensure_ascii=False, indent=2))
    return 0 if state.failed_count == 0 and body is not None else 1


def _rescore(args: argparse.Namespace) -> int:
    bucket = summary_bucket(args.models_bucket, args.model_uri) if args.wait else None
    execution = launcher.start(args.job, args.tasks, {"MODEL_URI": args.model_uri})
    print(json.dumps({"started": execution}), flush=True)
    return 0 if bucket is None else follow(execution, bucket)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.rollout", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    copy = sub.add_parser("relabel", help="copy an artifact under a new version name")
    copy.add_argument("source", type=Path)
    copy.add_argument("dest", type=Path)
    copy.add_argument("--version", required=True)
    rescore = sub.add_parser("rescore", help="start the rescoring job in the cloud")
    rescore.add_argument("--job", required=True, help="projects/P/locations/R/jobs/NAME")
    rescore.add_argument("--model-uri", required=True)
    rescore.add_argument("--tasks", type=int, required=True)
    rescore.add_argument("--wait", action="store_true")
    rescore.add_argument(
        "--models-bucket", help="where the job writes its summary (default: --model-uri's bucket)"
    )
    args = parser.parse_args(argv)
    if args.action == "relabel":
        print(relabel(args.source, args.dest, args.version))
        return 0
    return _rescore(args)


if __name__ == "__main__":
    sys.exit(main())
