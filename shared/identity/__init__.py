"""Identity: Identity Platform (Firebase Authentication) accounts, roles and sessions.

Modules, one job each (none imports firebase_admin before it is first needed):
`roles` (who may do what: the permission table), `claims` (the Identity a token names),
`guard` (start-up checks: the project id, the Auth emulator only where safe), `app` (the lazy
firebase-admin App), `verify` (ID tokens and session cookies -> Identity, failures -> 401/503),
`sessions` (session cookies, revocation), `accounts` (operator operations: roles, lookups,
deletion), `toolkit` (the Identity Toolkit REST client the console signs users in with).
"""

from __future__ import annotations

from shared.identity.claims import Identity
from shared.identity.guard import IdentityMisconfigured, check_startup
from shared.identity.roles import (
    ADMIN,
    MEMBER,
    SERVICE,
    Permission,
    Role,
    allows,
    may_delete_review,
    may_edit_review,
)
from shared.identity.sessions import create_session_cookie, revoke_sessions
from shared.identity.verify import (
    identity_from_authorization,
    verify_id_token,
    verify_session_cookie,
)

__all__ = [
    "ADMIN",
    "MEMBER",
    "SERVICE",
    "Identity",
    "IdentityMisconfigured",
    "Permission",
    "Role",
    "allows",
    "check_startup",
    "create_session_cookie",
    "identity_from_authorization",
    "may_delete_review",
    "may_edit_review",
    "revoke_sessions",
    "verify_id_token",
    "verify_session_cookie",
]
