"""Operator operations on accounts (the CLI's are in tests/infra/test_users.py)."""

from __future__ import annotations

import pytest

from shared import identity
from shared.errors import NotFound, Unauthorized
from shared.identity import accounts
from tests.support.identity import Accounts


def test_get_and_delete_an_account(users: Accounts) -> None:
    member = users.member()
    assert accounts.get_account(member.uid) == accounts.Account(
        member.uid, "member@example.com", "관객", "member", disabled=False
    )
    accounts.delete_account(member.uid)
    with pytest.raises(NotFound):
        accounts.get_account(member.uid)
    with pytest.raises(Unauthorized, match="no longer exists"):
        identity.verify_id_token(member.id_token, check_revoked=True)


def test_unknown_accounts_are_not_found(users: Accounts) -> None:
    for lookup in (accounts.get_account, accounts.delete_account, identity.revoke_sessions):
        with pytest.raises(NotFound):
            lookup("no-such-uid")
    with pytest.raises(NotFound):
        accounts.find_by_email("nobody@example.com")


def test_the_service_role_cannot_be_granted(users: Accounts) -> None:
    with pytest.raises(ValueError, match="service"):
        accounts.set_role(users.member().uid, "service")
