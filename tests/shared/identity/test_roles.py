"""The role rule: one table, and the ownership rule for reviews."""

from __future__ import annotations

import pytest

from shared.identity.roles import (
    ACCOUNT_ROLES,
    ADMIN,
    MEMBER,
    PERMISSIONS,
    SERVICE,
    Permission,
    Role,
    allows,
    may_delete_review,
    may_edit_review,
    role_from_claim,
)

# The rule in words, checked against the table: admin = movies, uploads, any
# review's deletion, batches (reviews, sentiment), roles; member = own reviews; the API key =
# admin's powers (and edits).
EXPECTED: dict[Role | None, set[Permission]] = {
    None: set(),
    MEMBER: {Permission.REVIEWS_WRITE_OWN},
    ADMIN: {
        Permission.MOVIES_WRITE,
        Permission.UPLOADS_WRITE,
        Permission.REVIEWS_WRITE_OWN,
        Permission.REVIEWS_DELETE_ANY,
        Permission.REVIEWS_BATCH,
        Permission.SENTIMENT_BATCH,
        Permission.ROLES_MANAGE,
    },
    SERVICE: set(Permission),
}


@pytest.mark.parametrize("role", list(EXPECTED))
@pytest.mark.parametrize("permission", list(Permission))
def test_permission_table(role: Role | None, permission: Permission) -> None:
    assert allows(role, permission) is (permission in EXPECTED[role])


def test_every_role_has_a_row_and_accounts_never_hold_service() -> None:
    assert set(PERMISSIONS) == {ADMIN, MEMBER, SERVICE}
    assert SERVICE not in ACCOUNT_ROLES


@pytest.mark.parametrize(
    ("claim", "role"),
    [("admin", ADMIN), ("member", MEMBER), (None, MEMBER), ("service", MEMBER),
     ("Admin", MEMBER), (["admin"], MEMBER), (True, MEMBER)],
)  # fmt: skip
def test_only_the_admin_claim_raises_a_role(claim: object, role: Role) -> None:
    assert role_from_claim(claim) == role


@pytest.mark.parametrize(
    ("role", "uid", "writer", "edit", "delete"),
    [
        (MEMBER, "u1", "u1", True, True),  # a member's own review
        (MEMBER, "u1", "u2", False, False),  # another member's
        (MEMBER, "u1", None, False, False),  # a key-written or uploaded review
        (ADMIN, "a1", "a1", True, True),  # an admin's own
        (ADMIN, "a1", "u2", False, True),  # moderation: delete, never rewrite
        (ADMIN, "a1", None, False, True),
        (SERVICE, None, "u2", True, True),  # the API key, as before accounts existed
        (SERVICE, None, None, True, True),
        (None, None, "u1", False, False),  # anonymous
        (None, None, None, False, False),
    ],
)
def test_review_ownership(
    role: Role | None, uid: str | None, writer: str | None, edit: bool, delete: bool
) -> None:
    assert may_edit_review(role, uid, writer) is edit
    assert may_delete_review(role, uid, writer) is delete
