"""The instance's Cloud Storage client: created on first use, emulator-aware."""

from __future__ import annotations

import os
from typing import Any

from shared.lazy import Lazy


def get_client() -> Any:
    """A google.cloud.storage.Client; anonymous against STORAGE_EMULATOR_HOST."""
    return _client.get()


def _make_client() -> Any:
    from google.cloud import storage  # type: ignore[attr-defined,unused-ignore]  # depends on which google.cloud packages are installed

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        project = os.environ.get("GOOGLE_CLOUD_PROJECT", "local")
        return storage.Client(project=project, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    return storage.Client()


_client: Lazy[Any] = Lazy(_make_client)


def reset() -> None:
    """Forget the client (tests switch emulators between sessions)."""
    _client.reset()


def split_uri(uri: str) -> tuple[str, str]:
    """gs://bucket/some/prefix -> ("bucket", "some/prefix")."""
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// URI: {uri}")
    bucket, _, path = uri[5:].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri}")
    return bucket, path
