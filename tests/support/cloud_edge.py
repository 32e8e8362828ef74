"""The edge of Google a rehearsed process cannot reach, faked inside that process.

Not imported by tests: the rehearsal (tests/support/rehearsal.py) copies this file as
`sitecustomize.py`, with an `edge.json` beside it, into a folder on the process's
PYTHONPATH, so every Python process it starts (and their children: release runs migrate)
loads it at interpreter start. Standard library only, and nothing is imported eagerly: each
fake is installed right after its module is first imported, so a process that never
touches the connector or the Admin API is not changed at all.

- Cloud SQL Python Connector: only the tunnel is fake. `Connector()` needs no credentials;
  `connect()` checks what the cloud would (the instance connection name, pg8000, IAM
  database authentication, a user and a database), opens a plain TCP socket to the local
  PostgreSQL and hands it to the connector's own pg8000 helper, which logs in as that IAM
  user (a role of the same name exists locally, with the grants migrate gave it).
- Cloud Run Admin API (google-cloud-run): clients talk REST to the local fake
  (tests/support/fake_run_api.py) with anonymous credentials.
- Identity Toolkit API (firebase-admin's account calls: lookups, claims, revocation), where
  edge.json names one: the Auth emulator's, reached as the cloud's would be (Application
  Default Credentials, an OAuth token, a real project id; no emulator switch).

Cloud Storage needs nothing here: the processes get STORAGE_EMULATOR_HOST.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

CONFIG_FILE = "edge.json"


def _config() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(__file__).with_name(CONFIG_FILE).read_text())
    return loaded


class EdgeError(RuntimeError):
    """A process asked the edge for something the cloud would refuse."""


def fake_connector(module: ModuleType) -> None:
    """Replace the tunnel of google.cloud.sql.connector.Connector (see the module doc)."""
    config = _config()
    connector = module.Connector

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self._closed = False
        self._enable_iam_auth = kwargs.get("enable_iam_auth", False)

    def connect(self: Any, instance: str, driver: str, **kwargs: Any) -> Any:
        if self._closed:
            raise EdgeError("the connector is closed")
        if instance != config["instance"]:
            raise EdgeError(
                f"no Cloud SQL instance {instance!r} (the cloud has {config['instance']!r})"
            )
        if driver != "pg8000":
            raise EdgeError(f"driver {driver!r}: the functions use pg8000")
        if not kwargs.pop("enable_iam_auth", self._enable_iam_auth):
            raise EdgeError("the instance takes IAM database authentication only")
        kwargs.pop("ip_type", None)
        if "user" not in kwargs or not ({"db", "database"} & set(kwargs)):
            raise EdgeError("connect() needs user= and db=")
        from google.cloud.sql.connector import pg8000 as helper

        sock = socket.create_connection((config["host"], config["port"]), timeout=30)
        return helper.connect(config["host"], sock, **kwargs)  # type: ignore[arg-type]

    def close(self: Any) -> None:
        self._closed = True

    connector.__init__ = __init__
    connector.connect = connect
    connector.close = close


def fake_run_api(module: ModuleType) -> None:
    """Point google.cloud.run_v2's clients at the local Admin API fake."""
    endpoint = _config()["run_api"]

    def redirected(cls: Any) -> None:
        original = cls.__init__

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            from google.auth.credentials import AnonymousCredentials

            kwargs.update(
                transport="rest",
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": endpoint},
            )
            original(self, *args, **kwargs)

        cls.__init__ = __init__

    redirected(module.JobsClient)
    redirected(module.ExecutionsClient)


def redirect_identity_toolkit(module: ModuleType) -> None:
    """Send firebase_admin's user management to the Identity Toolkit API edge.json names."""
    toolkit = _config().get("identity_toolkit")
    if toolkit:
        module.UserManager.ID_TOOLKIT_URL = toolkit


PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "google.cloud.sql.connector": fake_connector,
    "google.cloud.run_v2": fake_run_api,
    "firebase_admin._user_mgt": redirect_identity_toolkit,
}


class PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds the real module, and installs its fake right after the module has run."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        patch = PATCHES.get(name)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return None
        loader: Any = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            patch(module)

        loader.exec_module = exec_module
        return spec


if __name__ == "sitecustomize":
    sys.meta_path.insert(0, PatchOnImport())
