"""`python -m infra.users` on the Auth emulator: list, grant-admin, revoke-admin."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from infra import users as cli
from shared import identity
from shared.errors import Unauthorized
from shared.identity.toolkit import get_toolkit
from tests.support import REPO
from tests.support.identity import Accounts, next_second, reset_identity


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[list[str]], str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    rows = [line.split("\t") for line in out.splitlines() if "\t" in line]
    return code, rows, err


def test_list_shows_every_account_and_its_role(
    users: Accounts, capsys: pytest.CaptureFixture[str]
) -> None:
    admin, member, disabled = users.admin(), users.member(), users.disabled()
    code, rows, _ = _run(capsys, "list")
    assert code == 0
    assert {row[0]: row[1:] for row in rows} == {
        "admin@example.com": ["admin", admin.uid, "active", "관리자"],
        "member@example.com": ["member", member.uid, "active", "관객"],
        "disabled@example.com": ["member", disabled.uid, "disabled", "정지된 관객"],
    }
    assert _run(capsys, "list", "member@example.com")[1] == [
        ["member@example.com", "member", member.uid, "active", "관객"]
    ]


def test_grant_admin_takes_effect_at_once(
    users: Accounts, capsys: pytest.CaptureFixture[str]
) -> None:
    member = users.member()
    next_second()  # revocation counts whole seconds
    code, rows, _ = _run(capsys, "grant-admin", "member@example.com")
    assert (code, rows[0][:2]) == (0, ["member@example.com", "admin"])
    with pytest.raises(Unauthorized, match="revoked"):  # the member-role token is dead
        identity.verify_id_token(member.id_token, check_revoked=True)
    fresh = get_toolkit().sign_in(member.email, member.password)
    assert identity.verify_id_token(fresh.id_token, check_revoked=True).role == "admin"


def test_revoke_admin_keeps_other_claims(
    users: Accounts, capsys: pytest.CaptureFixture[str]
) -> None:
    from firebase_admin import auth

    admin = users.admin()
    app = identity.app.get_app()
    auth.set_custom_user_claims(admin.uid, {"role": "admin", "beta": True}, app=app)
    next_second()
    code, rows, _ = _run(capsys, "revoke-admin", "admin@example.com")
    assert (code, rows[0][1]) == (0, "member")
    assert auth.get_user(admin.uid, app=app).custom_claims == {"beta": True}
    with pytest.raises(Unauthorized, match="revoked"):
        identity.verify_id_token(admin.id_token, check_revoked=True)
    fresh = get_toolkit().sign_in(admin.email, admin.password)
    assert identity.verify_id_token(fresh.id_token).role == "member"


@pytest.mark.parametrize("command", ["grant-admin", "revoke-admin", "list"])
def test_an_unknown_email_is_an_error(
    users: Accounts, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, rows, err = _run(capsys, command, "nobody@example.com")
    assert (code, rows) == (1, [])
    assert err.strip() == "error: nobody@example.com: no such account"


def test_as_the_operator_runs_it(users: Accounts) -> None:
    """A process of its own, configured only by its environment and --project."""
    users.admin()
    env = {k: v for k, v in os.environ.items() if k != "FIREBASE_PROJECT_ID"}
    result = subprocess.run(
        [sys.executable, "-m", "infra.users", "--project", users.emulator.project, "list"],
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert result.stdout.split("\t")[:2] == ["admin@example.com", "admin"]


def test_without_a_project_it_says_so(
    users: Accounts, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREBASE_PROJECT_ID")
    reset_identity()
    code, _, err = _run(capsys, "list")
    assert code == 1 and "FIREBASE_PROJECT_ID" in err
