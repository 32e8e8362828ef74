"""Accounts as an operator sees them (firebase-admin, Application Default Credentials or the
emulator): look up, list, change a role, delete."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.identity.app import get_app
from shared.identity.failures import mapped
from shared.identity.roles import ACCOUNT_ROLES, MEMBER, ROLE_CLAIM, Role, role_from_claim
from shared.identity.sessions import revoke_sessions


@dataclass(frozen=True, slots=True)
class Account:
    uid: str
    email: str | None
    display_name: str | None
    role: Role
    disabled: bool


def get_account(uid: str) -> Account:
    """NotFound (404) if there is no such account."""
    from firebase_admin import auth

    with mapped("account"):
        return _account(auth.get_user(uid, app=get_app()))


def find_by_email(email: str) -> Account:
    """NotFound (404) if no account has this email."""
    from firebase_admin import auth

    with mapped("account"):
        return _account(auth.get_user_by_email(email, app=get_app()))


def list_accounts() -> Iterator[Account]:
    """Every account, in Identity Platform's order (paged behind the scenes)."""
    from firebase_admin import auth

    with mapped("account"):
        for user in auth.list_users(app=get_app()).iterate_all():
            yield _account(user)


def set_role(uid: str, role: Role) -> Account:
    """Give `uid` the role `role` ("admin" or "member") and end its sessions, so the change
    holds at once: its next sign-in gets a token with the new claim.

    Other custom claims are kept; member is stored as no claim, as every new account has.
    """
    if role not in ACCOUNT_ROLES:
        raise ValueError(f"an account's role is one of {ACCOUNT_ROLES}, not {role!r}")
    from firebase_admin import auth

    with mapped("account"):
        user = auth.get_user(uid, app=get_app())
        claims = {k: v for k, v in (user.custom_claims or {}).items() if k != ROLE_CLAIM}
        if role != MEMBER:
            claims[ROLE_CLAIM] = role
        auth.set_custom_user_claims(uid, claims or None, app=get_app())
    revoke_sessions(uid)
    return get_account(uid)


def delete_account(uid: str) -> None:
    """Delete the account (its data elsewhere is the caller's to delete first)."""
    from firebase_admin import auth

    with mapped("account"):
        auth.delete_user(uid, app=get_app())


def _account(user: Any) -> Account:
    return Account(
        uid=user.uid,
        email=user.email,
        display_name=user.display_name,
        role=role_from_claim((user.custom_claims or {}).get(ROLE_CLAIM)),
        disabled=bool(user.disabled),
    )
