"""Accounts on the Firebase Auth emulator for tests: signed-in admins, members and the
accounts that must be refused (disabled, revoked, another project's)."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field

import pytest

from infra.authemu import AuthEmulator, SeedAccount
from shared import identity
from shared.identity import app, toolkit
from shared.identity.roles import Role
from shared.settings import get_settings

EMULATOR_PROJECT = "demo-movie-reviews-test"  # the project the session's emulator serves
OTHER_PROJECT = "demo-another-site"
WEB_API_KEY = "test-web-api-key"  # the emulator takes any key; production needs the real one
PASSWORD = "test-password-1"


@dataclass(frozen=True)
class TestUser:
    """An account and the tokens of its sign-in through the REST client."""

    __test__ = False  # not a test class, whatever its name says

    uid: str
    email: str
    password: str
    display_name: str
    role: Role  # "admin" or "member"
    id_token: str
    refresh_token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.id_token}"}


def reset_identity() -> None:
    """A fresh instance's identity state (settings, App, REST client)."""
    get_settings.cache_clear()
    app.reset()
    toolkit.reset()


def use_emulator(monkeypatch: pytest.MonkeyPatch, emulator: AuthEmulator) -> None:
    """This instance verifies and signs in against `emulator`, as `make run` configures it."""
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", emulator.host)
    monkeypatch.setenv("FIREBASE_PROJECT_ID", emulator.project)
    monkeypatch.setenv("FIREBASE_WEB_API_KEY", WEB_API_KEY)
    for cloud_only in ("K_SERVICE", "CLOUD_RUN_JOB"):
        monkeypatch.delenv(cloud_only, raising=False)
    reset_identity()


def next_second() -> None:
    """Sleep into the next whole second: revocation compares whole seconds, so a token
    issued in the second its account is revoked would still count as valid."""
    time.sleep(1.01 - time.time() % 1)


@dataclass
class Accounts:
    """The accounts of one test (the emulator is wiped before each test).

    admin(), member() and second_member() are created on first use and then reused;
    every helper signs in through shared.identity.toolkit, as the console does.
    """

    emulator: AuthEmulator
    _made: dict[str, TestUser] = field(default_factory=dict)

    def create(
        self, email: str, display_name: str, *, role: Role | None = None, disabled: bool = False
    ) -> TestUser:
        """An account seeded through the emulator's operator API, then signed in."""
        seed = SeedAccount(email, PASSWORD, display_name, role=role)
        uid = self.emulator.seed(seed)
        signed_in = toolkit.get_toolkit().sign_in(email, PASSWORD)
        user = TestUser(
            uid=uid,
            email=email,
            password=PASSWORD,
            display_name=display_name,
            role=role or "member",
            id_token=signed_in.id_token,
            refresh_token=signed_in.refresh_token,
        )
        if disabled:
            self.emulator.disable(uid)
        return user

    def _once(self, key: str, email: str, name: str, role: Role | None = None) -> TestUser:
        if key not in self._made:
            self._made[key] = self.create(email, name, role=role)
        return self._made[key]

    def admin(self) -> TestUser:
        return self._once("admin", "admin@example.com", "관리자", role="admin")

    def member(self) -> TestUser:
        return self._once("member", "member@example.com", "관객")

    def second_member(self) -> TestUser:
        return self._once("second", "second@example.com", "다른 관객")

    def disabled(self) -> TestUser:
        """A member whose account was disabled after this sign-in."""
        return self.create("disabled@example.com", "정지된 관객", disabled=True)

    def revoked(self) -> TestUser:
        """A member whose sessions were revoked (shared.identity) after this sign-in."""
        user = self.create("revoked@example.com", "로그아웃된 관객")
        next_second()
        identity.revoke_sessions(user.uid)
        return user

    def other_project_token(self) -> str:
        """A member's ID token as the emulator issues it for another project.

        The emulator signs API-key sign-ins in only for the project it was started with
        (firebase-tools' getProjectIdByApiKey), and a second emulator costs ~7 s of CPU.
        Emulator tokens are unsigned (alg "none"), so the same token with the other
        project's audience and issuer is what an emulator for that project would issue
        (tests/infra/test_authemu.py compares it with one).
        """
        return retarget(self.member().id_token, OTHER_PROJECT)


def retarget(emulator_token: str, project: str) -> str:
    """An unsigned emulator token with its audience and issuer moved to `project`."""
    header, payload, signature = emulator_token.split(".")
    claims = json.loads(_unb64(payload))
    claims["aud"] = project
    claims["iss"] = f"https://securetoken.google.com/{project}"
    return f"{header}.{_b64(_compact(claims))}.{signature}"


def unsigned_token(claims: dict[str, object]) -> str:
    """A JWT with no signature (alg "none"), as the emulator issues and as a forger would."""
    header = _b64(_compact({"alg": "none", "typ": "JWT"}))
    return f"{header}.{_b64(_compact(claims))}."


def unverified_claims(token: str) -> dict[str, object]:
    """A JWT's claims, read without any check (to compare tokens in tests)."""
    claims: dict[str, object] = json.loads(_unb64(token.split(".")[1]))
    return claims


def unverified_header(token: str) -> dict[str, object]:
    header: dict[str, object] = json.loads(_unb64(token.split(".", maxsplit=1)[0]))
    return header


def _compact(data: dict[str, object]) -> bytes:
    """JSON as JavaScript's JSON.stringify writes it (the emulator's encoding)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
