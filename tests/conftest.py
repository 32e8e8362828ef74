"""Fixtures: one embedded PostgreSQL per test session, a fresh database per test; one Firebase
Auth emulator per session, wiped per test; Google's token-signing edge for production mode."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Settings must validate at import time of any module; the per-test URL replaces this.
os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unset")
# The functions that verify identities need a project to start (Need.IDENTITY); the `users`
# and `production_tokens` fixtures switch it (and the emulator) per test.
os.environ.setdefault("FIREBASE_PROJECT_ID", "demo-movie-reviews-test")

from infra import migrate
from infra.authemu import AuthEmulator
from infra.localpg import EmbeddedPostgres, free_port
from shared import lazy, storage
from shared.settings import get_settings
from tests.support import API_KEY
from tests.support.google_edge import (
    PRODUCTION_PROJECT,
    ProductionTokens,
    SigningKey,
    google_edge,
    use_production,
)
from tests.support.identity import (
    EMULATOR_PROJECT,
    Accounts,
    reset_identity,
    use_emulator,
)

TEMPLATE = "template_app"


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    # not tmp_path_factory: pytest prunes old numbered temp dirs, which may belong to a
    # concurrent session whose server is still running
    root = Path(tempfile.mkdtemp(prefix="pytest-pg-"))
    server = EmbeddedPostgres(root, free_port(), durable=False).start()
    migrate.upgrade_database(server.create_database(TEMPLATE))
    yield server
    server.stop("immediate")
    shutil.rmtree(root, ignore_errors=True)


def fresh_instance() -> None:
    """What a new instance starts from: settings read again; no pool, client, model or cache
    until first use (every shared.lazy resource forgotten)."""
    get_settings.cache_clear()
    lazy.reset_all()


@pytest.fixture
def traced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tracing on for this instance (every trace sampled), spans written to a file."""
    path = tmp_path / "traces.jsonl"
    monkeypatch.setenv("TRACE_EXPORTER", "file")
    monkeypatch.setenv("TRACE_FILE", str(path))
    monkeypatch.setenv("TRACE_SAMPLE_RATIO", "1")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")
    fresh_instance()
    return path


def use_database(monkeypatch: pytest.MonkeyPatch, url: str, **env: str) -> None:
    """Point the instance's settings and pool at `url` (as a fresh instance would be)."""
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("API_KEYS", API_KEY)
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fresh_instance()


@pytest.fixture
def database(postgres: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated database of this test's own, cloned from the session template."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name, template=TEMPLATE)
    use_database(monkeypatch, url)
    yield url
    fresh_instance()
    postgres.drop_database(name)


@pytest.fixture
def auth() -> dict[str, str]:
    return {"X-API-Key": API_KEY}


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """The local GCS (infra/storage_emulator.py, as `make run` starts it) in this process on
    a free port; STORAGE_EMULATOR_HOST points at it."""
    from infra.storage_emulator import Emulator

    port = free_port()
    server = Emulator("127.0.0.1", port, in_memory=True)
    server.start()
    host = f"http://127.0.0.1:{port}"
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = host
    storage.reset()
    yield host
    server.stop()
    storage.reset()
    if previous is None:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
    else:
        os.environ["STORAGE_EMULATOR_HOST"] = previous


@pytest.fixture
def gcs(gcs_emulator: str) -> Iterator[Any]:
    """A storage client on the emulator, with every bucket wiped before the test."""
    requests.get(f"{gcs_emulator}/wipe", timeout=30).raise_for_status()  # the emulator's own
    yield storage.get_client()


@pytest.fixture(scope="session")
def auth_emulator() -> Iterator[AuthEmulator]:
    """The Firebase Auth emulator on free ports for the session (~7 s of CPU to start)."""
    with AuthEmulator(EMULATOR_PROJECT) as emulator:
        yield emulator


@pytest.fixture
def users(auth_emulator: AuthEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Accounts]:
    """This test's accounts on the emulator (wiped first); the instance verifies against it
    (FIREBASE_AUTH_EMULATOR_HOST, FIREBASE_PROJECT_ID, FIREBASE_WEB_API_KEY set)."""
    use_emulator(monkeypatch, auth_emulator)
    auth_emulator.wipe()
    yield Accounts(auth_emulator)
    reset_identity()


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate("test-signing-key")


@pytest.fixture
def production_tokens(
    auth_emulator: AuthEmulator,
    signing_key: SigningKey,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[ProductionTokens]:
    """Production mode (no emulator switch, K_SERVICE set, a real project id): tokens signed
    by a test key whose certificate a local stand-in of Google's edge serves; accounts for
    check_revoked live on the emulator under PRODUCTION_PROJECT (wiped first)."""
    with google_edge(signing_key) as edge:
        use_production(monkeypatch, edge, auth_emulator, tmp_path)
        reset_identity()
        auth_emulator.wipe(PRODUCTION_PROJECT)
        yield ProductionTokens(signing_key, edge, auth_emulator)
        reset_identity()
