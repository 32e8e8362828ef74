"""Identity: Identity Platform (Firebase Authentication) accounts, roles and sessions.

Modules, one job each (none imports firebase_admin before it is first needed):
`roles` (who may do what: the permission table), `claims` (the Identity a token names),
`principal` (who performs an API request: an account or a service client),
`app` (the lazy firebase-admin App for FIREBASE_PROJECT_ID), `verify` (ID tokens and session
cookies -> Identity; failures -> 401/503), `failures` (firebase-admin's errors in ours),
`sessions` (session cookies, revocation), `accounts` (operator operations: roles, lookups,
deletion), `toolkit` (the Identity Toolkit REST client the console signs users in with).

What a process needs for identity is a `Need` of shared.settings, checked at start-up:
`@needs(Need.IDENTITY)` on an entry point that verifies identities (FIREBASE_PROJECT_ID; the
Auth emulator switch refused on Cloud Run, in jobs and outside `demo-` projects), and
`Need.SIGN_IN` (FIREBASE_WEB_API_KEY) where users sign in.
"""

from __future__ import annotations

from shared.identity.claims import Identity
from shared.identity.principal import Principal
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
    verify_bearer,
    verify_id_token,
    verify_session_cookie,
)

__all__ = [
    "ADMIN",
    "MEMBER",
    "SERVICE",
    "Identity",
    "Permission",
    "Principal",
    "Role",
    "allows",
    "create_session_cookie",
    "identity_from_authorization",
    "may_delete_review",
    "may_edit_review",
    "revoke_sessions",
    "verify_bearer",
    "verify_id_token",
    "verify_session_cookie",
]
