"""The Cloud Run job image's build context, for the image the Terraform plan deploys.

    python -m infra.job_image prepare [--workspace /workspace] [--bundle build/bundles/reviews.zip]
                                      [--out build/job-image]

Terraform names the image (output `job_image`, terraform/modules/system/jobs.tf) with the
sha256 of the reviews bundle, so this reads that name from the saved plan rather than
computing it a second time, checks that the bundle here is the one the plan hashed, unpacks
the bundle as the build context and adds infra/job-image.Dockerfile. It writes the image
name to <workspace>/job-image for the docker step (cloudbuild.yaml, job-image), which
builds and pushes it before the apply creates or updates the jobs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "infra" / "job-image.Dockerfile"
WORKSPACE = Path("/workspace")


class ImageError(Exception):
    """The context cannot be prepared; the message says why."""


def planned_image(plan_json: Path) -> str:
    """Output job_image as the saved plan will apply it (`terraform show -json tfplan`)."""
    plan = json.loads(plan_json.read_text(encoding="utf-8"))
    try:
        return str(plan["planned_values"]["outputs"]["job_image"]["value"])
    except KeyError as exc:
        raise ImageError(f"{plan_json} has no planned output job_image") from exc


def prepare(plan_json: Path, bundle: Path, out: Path) -> str:
    """Unpack `bundle` into `out` with the Dockerfile; returns the image name to build."""
    image = planned_image(plan_json)
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    if not image.endswith(f":{digest}"):
        raise ImageError(f"the plan deploys {image}, but {bundle} has sha256 {digest}")
    if out.exists():
        shutil.rmtree(out)
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(out)
    shutil.copyfile(DOCKERFILE, out / "Dockerfile")
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=["prepare"])
    parser.add_argument("--workspace", type=Path, default=WORKSPACE)
    parser.add_argument("--bundle", type=Path, default=REPO / "build" / "bundles" / "reviews.zip")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "job-image")
    args = parser.parse_args(argv)
    try:
        image = prepare(args.workspace / "tfplan.json", args.bundle, args.out)
    except (ImageError, OSError) as error:
        print(f"job image: {error}", file=sys.stderr)
        return 1
    (args.workspace / "job-image").write_text(image + "\n")
    print(f"job image: {image} (context {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
