"""ID tokens and session cookies from the real Auth emulator, verified into an Identity; every
refusal is a 401 (revoked and disabled accounts only with check_revoked, which looks the
account up). Signatures and expiry are not checked in emulator mode: test_verify_production."""

from __future__ import annotations

import time

import pytest
import requests

from shared import identity
from shared.errors import Unauthorized
from shared.identity import Identity
from tests.support.identity import Accounts, next_second, reset_identity, unverified_claims


def _refused(detail: str) -> pytest.RaisesExc[Unauthorized]:
    return pytest.raises(Unauthorized, match=detail)


def test_a_member_token_names_the_member(users: Accounts) -> None:
    member = users.member()
    seen = identity.verify_id_token(member.id_token, check_revoked=True)
    assert seen == Identity(
        uid=member.uid,
        email="member@example.com",
        display_name="관객",
        role="member",
        email_verified=False,
        sign_in_provider="password",
        signed_in_at=seen.signed_in_at,
    )
    assert abs(seen.signed_in_at - time.time()) < 60
    assert not seen.is_admin
    assert not seen.allows(identity.Permission.MOVIES_WRITE)


def test_an_admin_token_carries_the_role_claim(users: Accounts) -> None:
    seen = identity.verify_id_token(users.admin().id_token)
    assert (seen.role, seen.display_name, seen.is_admin) == ("admin", "관리자", True)
    assert seen.allows(identity.Permission.ROLES_MANAGE)


def test_two_members_are_two_identities(users: Accounts) -> None:
    first = identity.verify_id_token(users.member().id_token)
    second = identity.verify_id_token(users.second_member().id_token)
    assert first.uid != second.uid
    assert second.display_name == "다른 관객"


@pytest.mark.parametrize("check_revoked", [False, True])
def test_revoked_sessions_are_refused_only_when_checked(
    users: Accounts, check_revoked: bool
) -> None:
    token = users.revoked().id_token
    if not check_revoked:  # the token itself is still well-formed and unexpired
        assert identity.verify_id_token(token).email == "revoked@example.com"
        return
    with _refused("revoked"):
        identity.verify_id_token(token, check_revoked=True)


def test_a_disabled_account_is_refused_when_checked(users: Accounts) -> None:
    token = users.disabled().id_token
    assert identity.verify_id_token(token).uid  # unchecked: only its claims are read
    with _refused("the account is disabled"):
        identity.verify_id_token(token, check_revoked=True)


def test_a_deleted_account_is_refused_when_checked(users: Accounts) -> None:
    member = users.member()
    users.emulator.wipe()
    with _refused("no longer exists"):
        identity.verify_id_token(member.id_token, check_revoked=True)


def test_a_firebase_anonymous_account_is_no_identity(users: Accounts) -> None:
    """Anonymous visitors only read: Firebase's anonymous sign-in (were it ever enabled in the
    project) must not make a member."""
    url = f"{users.emulator.url}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=k"
    anonymous = requests.post(url, json={"returnSecureToken": True}, timeout=10).json()
    with _refused("anonymous"):
        identity.verify_id_token(anonymous["idToken"])


def test_another_projects_token_is_refused(users: Accounts) -> None:
    with _refused("not valid for this site"):
        identity.verify_id_token(users.other_project_token())


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        ("", "no ID token was sent"),
        ("not-a-jwt", "not valid"),
        ("a.b.c", "not valid"),
        ("x" * 9000, "not valid"),  # refused before it is parsed
        ("토큰.토큰.토큰", "not valid"),
    ],
)
def test_malformed_tokens_are_refused(users: Accounts, token: str, detail: str) -> None:
    with _refused(detail):
        identity.verify_id_token(token)


def test_a_session_cookie_is_not_an_id_token_and_back(users: Accounts) -> None:
    member = users.member()
    cookie = identity.create_session_cookie(member.id_token)
    with _refused("not valid"):
        identity.verify_id_token(cookie)
    with _refused("not valid"):
        identity.verify_session_cookie(member.id_token)


def test_session_cookie_lives_the_configured_time(
    users: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_COOKIE_MAX_AGE_SECONDS", "3600")
    reset_identity()
    member = users.member()
    cookie = identity.create_session_cookie(member.id_token)
    claims = unverified_claims(cookie)
    assert claims["exp"] == claims["iat"] + 3600  # type: ignore[operator]
    seen = identity.verify_session_cookie(cookie, check_revoked=True)
    assert (seen.uid, seen.display_name, seen.role) == (member.uid, "관객", "member")


def test_a_revoked_session_cookie_is_refused_when_checked(users: Accounts) -> None:
    member = users.member()
    cookie = identity.create_session_cookie(member.id_token)
    next_second()
    identity.revoke_sessions(member.uid)
    assert identity.verify_session_cookie(cookie).uid == member.uid
    with _refused("session cookie has been revoked"):
        identity.verify_session_cookie(cookie, check_revoked=True)


def test_no_session_from_a_bad_token(users: Accounts) -> None:
    with _refused("not valid"):
        identity.create_session_cookie("not-a-jwt")


@pytest.mark.parametrize(
    ("header", "outcome"),
    [(None, None), ("Basic dXNlcjpwdw==", "Bearer"), ("Bearer ", "no token"),
     ("Bearer not-a-jwt", "not valid")],
)  # fmt: skip
def test_authorization_header(users: Accounts, header: str | None, outcome: str | None) -> None:
    if outcome is None:
        assert identity.identity_from_authorization(header) is None  # anonymous
        return
    with _refused(outcome):
        identity.identity_from_authorization(header)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_authorization_bearer_any_case(users: Accounts, scheme: str) -> None:
    member = users.member()
    seen = identity.identity_from_authorization(f"{scheme} {member.id_token}")
    assert seen is not None and seen.uid == member.uid


def test_a_session_cookie_is_a_bearer_token_too(users: Accounts) -> None:
    """The console acts for its user with the session cookie: told apart by its issuer."""
    member = users.member()
    cookie = identity.create_session_cookie(member.id_token)
    seen = identity.identity_from_authorization(f"Bearer {cookie}", check_revoked=True)
    assert seen is not None and seen.uid == member.uid


def test_an_accounts_standing_is_trusted_for_the_cache_window(
    users: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write does not pay an Identity Platform round trip each time: an account looked up
    in the last IDENTITY_REVOCATION_CACHE_SECONDS is trusted; after the window (or with 0)
    a revocation is seen."""
    from shared.settings import get_settings

    member = users.member()
    assert identity.verify_id_token(member.id_token, check_revoked=True).uid == member.uid
    next_second()
    identity.revoke_sessions(member.uid)
    # within the window this instance still trusts what it looked up
    assert identity.verify_id_token(member.id_token, check_revoked=True).uid == member.uid
    monkeypatch.setenv("IDENTITY_REVOCATION_CACHE_SECONDS", "0")
    get_settings.cache_clear()
    with _refused("revoked"):
        identity.verify_id_token(member.id_token, check_revoked=True)
