"""infra.authemu: the Auth emulator launcher (start, seed, wipe, no orphans), and proof that
the fixtures' "another project" token is what an emulator for that project issues."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import psutil
import pytest

from infra.authemu import AuthEmulator, SeedAccount
from shared import identity
from shared.errors import Unauthorized
from shared.identity.toolkit import IdentityToolkit, get_toolkit
from tests.support import REPO
from tests.support.identity import (
    OTHER_PROJECT,
    PASSWORD,
    WEB_API_KEY,
    Accounts,
    retarget,
    unverified_claims,
    unverified_header,
)

LAUNCHER = """
import json, sys, time
from infra.authemu import AuthEmulator, SeedAccount
from shared.identity.toolkit import IdentityToolkit

emulator = AuthEmulator(sys.argv[1]).start()
emulator.seed(SeedAccount("member@example.com", sys.argv[2], "관객"))
signed_in = IdentityToolkit("key", emulator.host, 10).sign_in("member@example.com", sys.argv[2])
print(json.dumps({"pid": emulator.process.pid, "token": signed_in.id_token}), flush=True)
time.sleep(600)
"""


@dataclass(frozen=True)
class KilledLauncher:
    emulator_pid: int
    emulator_gone: bool
    token: str  # a member's ID token from an emulator started for OTHER_PROJECT


@pytest.fixture(scope="module")
def killed_launcher() -> Iterator[KilledLauncher]:
    """A process that started an emulator for OTHER_PROJECT, signed in, then was SIGKILLed."""
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, OTHER_PROJECT, PASSWORD],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert launcher.stdout is not None
    started = json.loads(launcher.stdout.readline())
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    pid = started["pid"]
    with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
        psutil.Process(pid).wait(timeout=20)  # it gets SIGTERM from the kernel (PDEATHSIG)
    gone = _gone(pid)
    if not gone:
        psutil.Process(pid).kill()
    yield KilledLauncher(pid, gone, started["token"])


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for an init that does not reap counts as exited)."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def test_a_killed_launcher_leaves_no_emulator(killed_launcher: KilledLauncher) -> None:
    assert killed_launcher.emulator_gone


def test_another_projects_token_is_what_its_emulator_issues(
    users: Accounts, killed_launcher: KilledLauncher
) -> None:
    real = killed_launcher.token
    made = users.other_project_token()
    assert unverified_header(made) == unverified_header(real) == {"alg": "none", "typ": "JWT"}
    real_claims, made_claims = unverified_claims(real), unverified_claims(made)
    assert made_claims.keys() == real_claims.keys()
    for claim in ("aud", "iss"):
        assert made_claims[claim] == real_claims[claim]
    for token in (real, made):
        with pytest.raises(Unauthorized, match="not valid for this site"):
            identity.verify_id_token(token)
    # and back: nothing but the audience and issuer changed, byte for byte
    assert retarget(made, users.emulator.project) == users.member().id_token


def test_seed_resets_an_account_with_a_fixed_uid(users: Accounts) -> None:
    emulator = users.emulator
    first = SeedAccount("fixed@example.com", "first-password", "하나", role="admin", uid="fixed")
    assert emulator.seed(first) == "fixed"
    again = SeedAccount("fixed@example.com", "second-password", "둘", uid="fixed")
    assert emulator.seed(again) == "fixed"
    signed_in = get_toolkit().sign_in("fixed@example.com", "second-password")
    seen = identity.verify_id_token(signed_in.id_token)
    assert (seen.uid, seen.display_name, seen.role) == ("fixed", "둘", "member")


def test_wipe_removes_every_account(users: Accounts) -> None:
    users.member()
    users.emulator.wipe()
    with pytest.raises(Unauthorized, match="wrong email or password"):
        get_toolkit().sign_in("member@example.com", PASSWORD)


def test_a_missing_install_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra import authemu

    monkeypatch.setattr(authemu, "FIREBASE", REPO / "no" / "firebase")
    with pytest.raises(authemu.EmulatorError, match="make auth-emulator"):
        AuthEmulator("demo-x").start()


def test_the_session_emulator_speaks_the_rest_api(auth_emulator: AuthEmulator) -> None:
    client = IdentityToolkit(WEB_API_KEY, auth_emulator.host, timeout=5)
    auth_emulator.wipe()
    made = client.sign_up("rest@example.com", PASSWORD)
    assert client.sign_in("rest@example.com", PASSWORD).uid == made.uid
    auth_emulator.wipe()
