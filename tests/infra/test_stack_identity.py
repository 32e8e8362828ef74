"""`make run`'s identity part: the Auth emulator with a seeded admin and member, the lines it
prints, the functions' environment, and accounts kept across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.localpg import free_port
from infra.stack import AUTH_PROJECT, Stack, print_accounts, start_identity
from shared import identity
from shared.identity.toolkit import get_toolkit
from tests.support.identity import reset_identity


def _use(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name in ("FIREBASE_AUTH_EMULATOR_HOST", "FIREBASE_PROJECT_ID", "FIREBASE_WEB_API_KEY"):
        monkeypatch.setenv(name, env[name])
    reset_identity()


def test_make_run_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    stack = Stack()
    try:
        url, (admin, member) = start_identity(stack, tmp_path, port)
        capsys.readouterr()
        print_accounts(url, (admin, member))
        assert capsys.readouterr().out.splitlines() == [
            f"Auth emulator: http://127.0.0.1:{port}",
            f"Admin: admin@example.com {admin.password}",
            f"Member: member@example.com {member.password}",
        ]
        assert stack.env["FIREBASE_AUTH_EMULATOR_HOST"] == f"127.0.0.1:{port}"
        assert stack.env["FIREBASE_PROJECT_ID"] == AUTH_PROJECT
        _use(monkeypatch, stack.env)
        for account, role in ((admin, "admin"), (member, "member")):
            signed_in = get_toolkit().sign_in(account.email, account.password)
            seen = identity.verify_id_token(signed_in.id_token, check_revoked=True)
            assert (seen.uid, seen.role) == (account.uid, role)
        get_toolkit().sign_up("new@example.com", "new-password-1", display_name="새 관객")
    finally:
        stack.stop()
    assert (tmp_path / "auth-users" / "firebase-export-metadata.json").exists()

    stack = Stack()  # `make run` again: same passwords, and the sign-up is still there
    try:
        _, again = start_identity(stack, tmp_path, port)
        assert again == (admin, member)
        _use(monkeypatch, stack.env)
        get_toolkit().sign_in("new@example.com", "new-password-1")
        get_toolkit().sign_in(admin.email, admin.password)
    finally:
        stack.stop()
    reset_identity()
