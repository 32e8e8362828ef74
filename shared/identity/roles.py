"""Who may do what: the roles, their permissions, and the ownership rule for reviews.

One table, read by the API and the console alike. Roles live in Identity Platform as the
`role` custom claim; a signed-in account without it (every new sign-up) is a member. An
anonymous visitor (no identity) may only read and ask for the one-text sentiment preview,
so it needs no row. `X-API-Key` clients (imports, scripts) are the `service` role: the
admin's powers, plus editing any review, as the key always could.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

Role = Literal["admin", "member", "service"]
ROLE_CLAIM = "role"  # the custom claim that carries an account's role
ADMIN: Role = "admin"
MEMBER: Role = "member"
SERVICE: Role = "service"
# the roles an account may hold through its claim; "service" only ever comes from an API key
ACCOUNT_ROLES: tuple[Role, ...] = (ADMIN, MEMBER)


class Permission(StrEnum):
    MOVIES_WRITE = "movies.write"  # create, edit, delete movies
    UPLOADS_WRITE = "uploads.write"  # bulk review files
    REVIEWS_WRITE_OWN = "reviews.write_own"  # write reviews; edit and delete one's own
    REVIEWS_DELETE_ANY = "reviews.delete_any"  # moderation
    REVIEWS_EDIT_ANY = "reviews.edit_any"  # service clients correct imported reviews
    REVIEWS_BATCH = "reviews.batch"  # up to 100 reviews in one request (imports)
    SENTIMENT_BATCH = "sentiment.batch"  # score up to 100 texts at once (CPU: not for all)
    ROLES_MANAGE = "roles.manage"  # grant and revoke admin


_ADMIN = frozenset(
    {
        Permission.MOVIES_WRITE,
        Permission.UPLOADS_WRITE,
        Permission.REVIEWS_WRITE_OWN,
        Permission.REVIEWS_DELETE_ANY,
        Permission.REVIEWS_BATCH,
        Permission.SENTIMENT_BATCH,
        Permission.ROLES_MANAGE,
    }
)
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    ADMIN: _ADMIN,
    MEMBER: frozenset({Permission.REVIEWS_WRITE_OWN}),
    SERVICE: _ADMIN | {Permission.REVIEWS_EDIT_ANY},
}
assert set(PERMISSIONS) == set(get_args(Role))  # every role has its row


def role_from_claim(value: object) -> Role:
    """An account's role from its `role` claim: only "admin" raises it above member.

    Any other value (missing, misspelt, "service") means member: a claim can never grant
    more than the table says, and never the service role.
    """
    return ADMIN if value == ADMIN else MEMBER


def allows(role: Role | None, permission: Permission) -> bool:
    """Whether `role` (None: anonymous) has `permission`."""
    return role is not None and permission in PERMISSIONS[role]


def may_edit_review(role: Role | None, uid: str | None, writer_uid: str | None) -> bool:
    """Edit a review: its own writer (a member or admin account), or a service client."""
    if allows(role, Permission.REVIEWS_EDIT_ANY):
        return True
    own = uid is not None and writer_uid is not None and uid == writer_uid
    return own and allows(role, Permission.REVIEWS_WRITE_OWN)


def may_delete_review(role: Role | None, uid: str | None, writer_uid: str | None) -> bool:
    """Delete a review: whoever may edit it, and admins (moderation) any review."""
    return allows(role, Permission.REVIEWS_DELETE_ANY) or may_edit_review(role, uid, writer_uid)
