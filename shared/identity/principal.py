"""A Principal: who performs an API request, whatever credential proved it.

An account (a verified ID token or session cookie: member or admin) or a service client (an
`X-API-Key`: the service role). What the API needs of either: the role the permission table
knows, the uid that owns reviews, the name written as a review's author, and the client a
write rate limit counts under. Anonymous callers have no Principal.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import BadRequest
from shared.identity.claims import Identity
from shared.identity.roles import SERVICE, Permission, Role, allows


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    uid: str | None  # the account; None for a service client
    name: str | None  # the account's public name (Identity.public_name); None for a key
    client: str  # whose write budget a request spends: one per account, one per API key

    @classmethod
    def account(cls, identity: Identity) -> Principal:
        return cls(identity.role, identity.uid, identity.public_name, f"account:{identity.uid}")

    @classmethod
    def service(cls, key_number: int) -> Principal:
        """The client holding the `key_number`-th key of API_KEYS (the key never leaves)."""
        return cls(SERVICE, None, None, f"api-key:{key_number}")

    @property
    def is_account(self) -> bool:
        return self.uid is not None

    def allows(self, permission: Permission) -> bool:
        return allows(self.role, permission)

    def own_uid(self) -> str:
        """The account's uid, for an operation on the caller's own things; a service client
        has none (400: the request cannot mean anything with a key)."""
        if self.uid is None:
            raise BadRequest("an API key has no account: this needs a signed-in user's token")
        return self.uid
