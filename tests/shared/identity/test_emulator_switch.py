"""The emulator switch is refused wherever it would be dangerous (issue 18, item 6).

With FIREBASE_AUTH_EMULATOR_HOST set, firebase-admin accepts unsigned tokens: the first test
shows a forged, long-expired admin token passing in a demo project. Everywhere else (Cloud
Run, a job, a real project id) identity does not start (Need.IDENTITY); without the switch
the same forged token is a 401 (test_verify_production.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from infra.authemu import AuthEmulator
from shared import identity
from shared.identity.toolkit import get_toolkit
from shared.settings import Need, Settings, SettingsError, get_settings
from tests.support import REPO
from tests.support.identity import Accounts, reset_identity, unsigned_token


def _forged_admin(project: str) -> str:
    long_ago = int(time.time()) - 30 * 24 * 3600
    return unsigned_token(
        {
            "iss": f"https://securetoken.google.com/{project}",
            "aud": project,
            "sub": "forged",
            "iat": long_ago,
            "exp": long_ago + 3600,
            "auth_time": long_ago,
            "role": "admin",
        }
    )


def test_the_danger_a_forged_token_passes_on_the_emulator(users: Accounts) -> None:
    """Why the switch is guarded: no signature, no expiry check in emulator mode."""
    seen = identity.verify_id_token(_forged_admin(users.emulator.project))
    assert (seen.uid, seen.role) == ("forged", "admin")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [("K_SERVICE", "reviews", "service reviews"), ("CLOUD_RUN_JOB", "uploads", "Cloud Run job")],
)
def test_refused_on_cloud_run(
    users: Accounts, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    reset_identity()
    for start in (
        lambda: get_settings().require(Need.IDENTITY, process="a function"),
        lambda: identity.verify_id_token(_forged_admin(users.emulator.project)),
        get_toolkit,
    ):
        with pytest.raises(SettingsError, match=says):
            start()


def test_refused_outside_demo_projects(users: Accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "movie-reviews-prod")
    reset_identity()
    forged = _forged_admin("movie-reviews-prod")
    for start in (lambda: identity.verify_id_token(forged), get_toolkit):
        with pytest.raises(SettingsError, match="only demo-"):
            start()


def test_the_librarys_own_variable_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """firebase-admin reads FIREBASE_AUTH_EMULATOR_HOST itself, whatever the settings say."""
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    settings = Settings(firebase_project_id="movie-reviews-prod", firebase_auth_emulator_host=None)
    assert settings.missing(Need.IDENTITY) != []
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    assert settings.missing(Need.IDENTITY) == []


@pytest.mark.parametrize(
    ("needs", "env", "says"),
    [
        ((Need.IDENTITY,), {}, "set FIREBASE_PROJECT_ID"),
        ((Need.IDENTITY, Need.SIGN_IN), {"FIREBASE_PROJECT_ID": "p"}, "FIREBASE_WEB_API_KEY"),
    ],
)
def test_what_identity_needs(
    monkeypatch: pytest.MonkeyPatch, needs: tuple[Need, ...], env: dict[str, str], says: str
) -> None:
    for name in ("FIREBASE_PROJECT_ID", "FIREBASE_WEB_API_KEY", "FIREBASE_AUTH_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=says):
        Settings().require(*needs, process="the console")


# An entry point as functions/<name>/main.py declares one (phase 2 adds Need.IDENTITY there).
ENTRY_POINT = """
import sys
from shared.settings import Need, needs

@needs(Need.IDENTITY)
def reviews(request):
    return "ok"

print("firebase_admin" in sys.modules)
"""


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "FIREBASE_PROJECT_ID": "demo-x"}
    return subprocess.run(
        [sys.executable, "-c", ENTRY_POINT],
        env={**base, **env},
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )


def test_a_function_on_cloud_run_with_the_switch_does_not_start(
    auth_emulator: AuthEmulator,
) -> None:
    emulator = {"FIREBASE_AUTH_EMULATOR_HOST": auth_emulator.host}
    refused = _start({**emulator, "K_SERVICE": "reviews"})
    assert refused.returncode != 0
    assert "SettingsError: function reviews cannot start" in refused.stderr
    assert "service reviews" in refused.stderr
    locally = _start(emulator)
    assert (locally.returncode, locally.stdout.strip()) == (0, "False")  # nor loads firebase
