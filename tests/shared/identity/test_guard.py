"""The emulator switch is refused wherever it would be dangerous (issue 18, item 6).

With FIREBASE_AUTH_EMULATOR_HOST set, firebase-admin accepts unsigned tokens: the first test
shows a forged, long-expired admin token passing in a demo project. Everywhere else (Cloud
Run, a job, a real project id) identity refuses to start; without the switch the same forged
token is a 401 (test_verify_production.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from infra.authemu import AuthEmulator
from shared import identity
from shared.identity.guard import IdentityMisconfigured, checked_project_id
from shared.identity.toolkit import get_toolkit
from shared.settings import Settings
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
        identity.check_startup,
        lambda: identity.verify_id_token(_forged_admin(users.emulator.project)),
        get_toolkit,
    ):
        with pytest.raises(IdentityMisconfigured, match=says):
            start()


def test_refused_outside_demo_projects(users: Accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "movie-reviews-prod")
    reset_identity()
    with pytest.raises(IdentityMisconfigured, match="demo-"):
        identity.verify_id_token(_forged_admin("movie-reviews-prod"))
    with pytest.raises(IdentityMisconfigured, match="demo-"):
        get_toolkit()


def test_the_librarys_own_variable_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """firebase-admin reads FIREBASE_AUTH_EMULATOR_HOST itself, whatever the settings say."""
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    settings = Settings(firebase_project_id="movie-reviews-prod", firebase_auth_emulator_host=None)
    with pytest.raises(IdentityMisconfigured):
        checked_project_id(settings)
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    assert checked_project_id(settings) == "movie-reviews-prod"


def test_a_project_id_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIREBASE_PROJECT_ID", raising=False)
    reset_identity()
    with pytest.raises(IdentityMisconfigured, match="FIREBASE_PROJECT_ID"):
        identity.check_startup()
    reset_identity()


PROBE = """
import sys
from shared.identity import check_startup
check_startup()
print("firebase_admin" in sys.modules)
"""


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "FIREBASE_PROJECT_ID": "demo-x"}
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**base, **env},
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )


def test_a_process_on_cloud_run_with_the_switch_does_not_start(
    auth_emulator: AuthEmulator,
) -> None:
    emulator = {"FIREBASE_AUTH_EMULATOR_HOST": auth_emulator.host}
    refused = _start({**emulator, "K_SERVICE": "movies"})
    assert refused.returncode != 0
    assert "IdentityMisconfigured" in refused.stderr and "service movies" in refused.stderr
    locally = _start(emulator)
    assert (locally.returncode, locally.stdout.strip()) == (0, "False")  # nor loads firebase
