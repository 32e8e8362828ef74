"""Step 7: upload an artifact to ``gs://BUCKET/PREFIX/<version>/``, never overwriting.

``python -m model.publish model/artifacts/<version> gs://BUCKET/sentiment/``

Every file's sha256 is checked against the manifest before anything is sent;
uploads use ``if_generation_match=0`` so an existing version is refused, and
the manifest goes last so a partial upload is never a loadable artifact.
Honours ``STORAGE_EMULATOR_HOST`` (anonymous credentials, project ``local``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from shared import storage
from shared.sentiment.artifact import fetch_artifact, split_gs_uri
from shared.sentiment.manifest import MANIFEST

log = logging.getLogger(__name__)


class PublishError(Exception):
    """The artifact is invalid or the version already exists."""


def publish(artifact: Path, destination: str) -> str:
    """Upload and return the versioned ``gs://`` URI of the published artifact."""
    from google.api_core.exceptions import PreconditionFailed

    from shared.sentiment.artifact import ArtifactError

    try:
        manifest, files = fetch_artifact(str(artifact.resolve()))
    except ArtifactError as exc:
        raise PublishError(f"refusing to publish: {exc}") from exc
    bucket_name, prefix = split_gs_uri(destination)
    target = f"{prefix}{manifest.version}/"
    bucket = storage.get_client().bucket(bucket_name)
    existing = [blob.name for blob in bucket.list_blobs(prefix=target, max_results=1)]
    if existing:
        raise PublishError(
            f"gs://{bucket_name}/{target} already exists ({existing[0]}); versions are immutable"
        )
    uploads = [*files.items(), (MANIFEST, (artifact / MANIFEST).read_bytes())]
    for name, data in uploads:
        blob = bucket.blob(target + name)
        try:
            blob.upload_from_string(data, content_type=content_type(name), if_generation_match=0)
        except PreconditionFailed as exc:
            raise PublishError(f"gs://{bucket_name}/{target}{name} already exists") from exc
        log.info("uploaded gs://%s/%s%s (%d bytes)", bucket_name, target, name, len(data))
    return f"gs://{bucket_name}/{target}"


def content_type(name: str) -> str:
    return "application/json" if name.endswith(".json") else "application/octet-stream"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("artifact", type=Path)
    parser.add_argument("destination", help="gs://BUCKET/PREFIX/")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        uri = publish(args.artifact, args.destination)
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    print(uri)


if __name__ == "__main__":
    main()
