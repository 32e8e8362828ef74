"""Fetching an artifact's files as bytes (local folder or ``gs://``) and verifying them."""

from __future__ import annotations

from pathlib import Path

from shared import storage
from shared.errors import ModelUnavailable
from shared.sentiment.manifest import MANIFEST, Manifest, ManifestError, sha256

REPO_ROOT = Path(__file__).resolve().parents[2]
GCS_CONNECT_TIMEOUT_S = 3.0
GCS_READ_TIMEOUT_S = 20.0
GCS_RETRY_DEADLINE_S = 8.0


class ArtifactError(ModelUnavailable):
    """The artifact is missing, unreadable or corrupted (message says which); a 503."""


def resolve_local(uri: str) -> Path:
    """A local artifact path; relative paths resolve against the repository root."""
    path = Path(uri.removeprefix("file://")).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def split_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> (``bucket``, ``a/b/``): the prefix always ends in a slash."""
    try:
        bucket, prefix = storage.split_uri(uri)
    except ValueError as exc:
        raise ArtifactError(f"invalid GCS URI {uri!r}") from exc
    return bucket, (prefix.rstrip("/") + "/") if prefix.strip("/") else ""


class LocalSource:
    """Reads files from a folder."""

    def __init__(self, uri: str) -> None:
        self.root = resolve_local(uri)

    def read(self, name: str) -> bytes:
        try:
            return (self.root / name).read_bytes()
        except FileNotFoundError as exc:
            raise ArtifactError(f"{name} not found in {self.root}") from exc
        except OSError as exc:
            raise ArtifactError(f"cannot read {self.root / name}: {exc}") from exc


class GcsSource:
    """Reads objects under ``gs://bucket/prefix/`` with bounded timeouts and retries."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.bucket_name, self.prefix = split_gs_uri(uri)
        self._bucket = None

    def read(self, name: str) -> bytes:
        from google.api_core import exceptions
        from google.cloud.storage.retry import DEFAULT_RETRY

        try:
            if self._bucket is None:
                self._bucket = storage.get_client().bucket(self.bucket_name)
            blob = self._bucket.blob(self.prefix + name)  # type: ignore[attr-defined]
            retry = DEFAULT_RETRY.with_timeout(GCS_RETRY_DEADLINE_S)
            data: bytes = blob.download_as_bytes(
                timeout=(GCS_CONNECT_TIMEOUT_S, GCS_READ_TIMEOUT_S), retry=retry
            )
            return data
        except exceptions.NotFound as exc:
            raise ArtifactError(f"{name} not found under {self.uri}") from exc
        except Exception as exc:
            raise ArtifactError(f"cannot read {name} from {self.uri}: {exc!r}"[:500]) from exc


def open_source(uri: str) -> LocalSource | GcsSource:
    return GcsSource(uri) if uri.startswith("gs://") else LocalSource(uri)


def fetch_artifact(uri: str) -> tuple[Manifest, dict[str, bytes]]:
    """The manifest and every file it lists, each verified against its sha256."""
    source = open_source(uri)
    try:
        manifest = Manifest.from_bytes(source.read(MANIFEST))
    except ManifestError as exc:
        raise ArtifactError(f"{MANIFEST} at {uri}: {exc}") from exc
    files: dict[str, bytes] = {}
    for name, expected in manifest.files.items():
        data = source.read(name)
        actual = sha256(data)
        if actual != expected:
            raise ArtifactError(
                f"{name} at {uri} is corrupted: "
                f"sha256 {actual[:12]}... != manifest {expected[:12]}..."
            )
        files[name] = data
    return manifest, files
