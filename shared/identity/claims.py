"""An Identity: who a verified ID token or session cookie says the caller is.

Anonymous is the absence of an Identity (None), never an Identity without a uid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.identity.roles import ROLE_CLAIM, Permission, Role, allows, role_from_claim


@dataclass(frozen=True, slots=True)
class Identity:
    uid: str
    email: str | None
    display_name: str | None  # the account's name when the token was issued
    role: Role  # "admin" or "member" (never "service": that comes from an API key)
    email_verified: bool = False
    sign_in_provider: str | None = None  # "password", "google.com", ...
    signed_in_at: int = 0  # when the account last signed in (auth_time, Unix seconds)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Identity:
        """From the claims firebase-admin returns once it has verified a token."""
        firebase = claims.get("firebase")
        provider = firebase.get("sign_in_provider") if isinstance(firebase, Mapping) else None
        return cls(
            uid=str(claims["uid"]),
            email=_text(claims.get("email")),
            display_name=_text(claims.get("name")),
            role=role_from_claim(claims.get(ROLE_CLAIM)),
            email_verified=claims.get("email_verified") is True,
            sign_in_provider=_text(provider),
            signed_in_at=_seconds(claims.get("auth_time")),
        )

    @property
    def public_name(self) -> str | None:
        """The name others see (a review's author): the display name, else the email's local
        part; None if the account has neither."""
        if self.display_name:
            return self.display_name
        local = (self.email or "").split("@", 1)[0]
        return local or None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def allows(self, permission: Permission) -> bool:
        return allows(self.role, permission)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _seconds(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
