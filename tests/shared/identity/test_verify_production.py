"""Production mode, as on Cloud Run: tokens signed with a test RSA key whose certificate a
local stand-in of Google's edge serves. Signature, expiry, audience, issuer and revocation
are each proven here (the emulator mode checks neither signature nor expiry); accounts for
check_revoked are real records on the Auth emulator, looked up with an OAuth token from the
service-account credentials, as in the cloud."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from google.auth import _helpers as google_helpers

from infra.authemu import SeedAccount
from infra.localpg import free_port
from shared import identity
from shared.errors import IdentityUnavailable, Unauthorized
from shared.identity import Identity, verified
from tests.support.google_edge import (
    ID_TOKEN_ISSUER,
    PRODUCTION_PROJECT,
    SESSION_ISSUER,
    ProductionTokens,
    SigningKey,
)
from tests.support.identity import next_second, reset_identity, unsigned_token

HOUR = 3600
Mint = Callable[..., str]
Verify = Callable[..., Identity]
# each check that applies to both: how the test mints one, how identity verifies it
KINDS: dict[str, tuple[Callable[[ProductionTokens], Mint], Verify]] = {
    "ID token": (lambda tokens: tokens.id_token, identity.verify_id_token),
    "session cookie": (lambda tokens: tokens.session_cookie, identity.verify_session_cookie),
}


def _account(tokens: ProductionTokens, email: str = "member@example.com") -> str:
    seed = SeedAccount(email, "test-password-1", "관객")
    return tokens.emulator.seed(seed, project=PRODUCTION_PROJECT)


def test_a_signed_token_is_accepted(production_tokens: ProductionTokens) -> None:
    token = production_tokens.id_token("u1", role="admin", name="관리자")
    seen = identity.verify_id_token(token)
    assert (seen.uid, seen.role, seen.display_name) == ("u1", "admin", "관리자")


def test_check_revoked_looks_the_account_up(production_tokens: ProductionTokens) -> None:
    uid = _account(production_tokens)
    assert identity.verify_id_token(production_tokens.id_token(uid), check_revoked=True).uid == uid
    assert production_tokens.edge.hits["token"] == 1  # ADC's OAuth token, from the stand-in


def test_the_signature_is_checked(production_tokens: ProductionTokens) -> None:
    impostor = SigningKey.generate(production_tokens.key.key_id)  # same kid, another key
    token = impostor.sign(production_tokens.claims("u1", ID_TOKEN_ISSUER))
    with pytest.raises(Unauthorized, match="not valid"):
        identity.verify_id_token(token)


def test_an_unknown_key_is_refused(production_tokens: ProductionTokens) -> None:
    stranger = SigningKey.generate("some-other-kid")
    token = stranger.sign(production_tokens.claims("u1", ID_TOKEN_ISSUER))
    with pytest.raises(Unauthorized, match="not valid"):
        identity.verify_id_token(token)


@pytest.mark.parametrize("role", ["admin", None])
def test_an_unsigned_token_is_refused(production_tokens: ProductionTokens, role: str) -> None:
    """The emulator's token format (alg "none"), forged with any claims: never accepted."""
    claims = production_tokens.claims("u1", ID_TOKEN_ISSUER, role=role)
    with pytest.raises(Unauthorized, match="not valid"):
        identity.verify_id_token(unsigned_token(claims))


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_expired_token_is_refused(production_tokens: ProductionTokens, kind: str) -> None:
    minted, verify = KINDS[kind]
    now = int(time.time())
    token = minted(production_tokens)("u1", iat=now - HOUR - 60, exp=now - 60)
    with pytest.raises(Unauthorized, match=f"{kind} has expired"):
        verify(token)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_revoked_account_is_refused_when_checked(
    production_tokens: ProductionTokens, kind: str
) -> None:
    minted, verify = KINDS[kind]
    uid = _account(production_tokens)
    before = minted(production_tokens)(uid)
    next_second()
    identity.revoke_sessions(uid)
    assert verify(before).uid == uid  # unchecked: valid until it expires
    with pytest.raises(Unauthorized, match=f"{kind} has been revoked"):
        verify(before, check_revoked=True)
    next_second()  # a sign-in after the revocation is fine
    assert verify(minted(production_tokens)(uid), check_revoked=True).uid == uid


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_disabled_account_is_refused_when_checked(
    production_tokens: ProductionTokens, kind: str
) -> None:
    minted, verify = KINDS[kind]
    uid = _account(production_tokens)
    production_tokens.emulator.disable(uid, project=PRODUCTION_PROJECT)
    with pytest.raises(Unauthorized, match="disabled"):
        verify(minted(production_tokens)(uid), check_revoked=True)


FIREBASE_CALLS = {"ID token": "verify_id_token", "session cookie": "verify_session_cookie"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_verified_token_is_not_verified_again_until_it_expires(
    production_tokens: ProductionTokens, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signature work is done once per token; past its exp the token is verified again,
    and refused as expired."""
    from firebase_admin import auth

    minted, verify = KINDS[kind]
    calls: list[str] = []
    original = getattr(auth, FIREBASE_CALLS[kind])

    def counted(token: str, **options: object) -> object:
        calls.append(token)
        return original(token, **options)

    monkeypatch.setattr(auth, FIREBASE_CALLS[kind], counted)
    token = minted(production_tokens)("u1")
    assert verify(token).uid == verify(token).uid == "u1"
    assert len(calls) == 1
    other = minted(production_tokens)("u2")  # another token is its own verification
    assert verify(other).uid == "u2" and len(calls) == 2
    later = time.time() + HOUR + 60  # past the token's exp (and google-auth's leeway)
    monkeypatch.setattr(verified, "_now", lambda: later)
    monkeypatch.setattr(google_helpers, "utcnow", lambda: datetime.fromtimestamp(later, UTC))
    with pytest.raises(Unauthorized, match=f"{kind} has expired"):
        verify(token)
    assert len(calls) == 3


def test_a_refused_token_is_refused_every_time(production_tokens: ProductionTokens) -> None:
    impostor = SigningKey.generate(production_tokens.key.key_id)
    token = impostor.sign(production_tokens.claims("u1", ID_TOKEN_ISSUER))
    for _ in range(2):
        with pytest.raises(Unauthorized, match="not valid"):
            identity.verify_id_token(token)


def test_a_new_app_trusts_nothing_the_old_one_verified(
    production_tokens: ProductionTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token verified under one project is not accepted from memory by an App for another."""
    token = production_tokens.id_token("u1")
    assert identity.verify_id_token(token).uid == "u1"
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "another-project")
    reset_identity()
    with pytest.raises(Unauthorized, match="not valid"):
        identity.verify_id_token(token)


def test_a_token_from_the_future_is_refused(production_tokens: ProductionTokens) -> None:
    token = production_tokens.id_token("u1", iat=int(time.time()) + 600)
    with pytest.raises(Unauthorized, match="not valid"):
        identity.verify_id_token(token)


@pytest.mark.parametrize("kind", list(KINDS))
def test_another_projects_audience_is_refused(
    production_tokens: ProductionTokens, kind: str
) -> None:
    minted, verify = KINDS[kind]
    with pytest.raises(Unauthorized, match="not valid"):
        verify(minted(production_tokens)("u1", aud="someone-elses-project"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_another_projects_issuer_is_refused(production_tokens: ProductionTokens, kind: str) -> None:
    minted, verify = KINDS[kind]
    issuer = {"ID token": ID_TOKEN_ISSUER, "session cookie": SESSION_ISSUER}[kind]
    with pytest.raises(Unauthorized, match="not valid"):
        verify(minted(production_tokens)("u1", iss=f"{issuer}someone-elses-project"))


def test_session_cookies_have_their_own_issuer(production_tokens: ProductionTokens) -> None:
    uid = _account(production_tokens)
    cookie = production_tokens.session_cookie(uid, name="관객")
    seen = identity.verify_session_cookie(cookie, check_revoked=True)
    assert (seen.uid, seen.display_name) == (uid, "관객")
    with pytest.raises(Unauthorized, match="not valid"):  # an ID token is no session cookie
        identity.verify_session_cookie(production_tokens.id_token(uid))
    with pytest.raises(Unauthorized, match="not valid"):  # and the other way round
        identity.verify_id_token(cookie)


def test_a_bearer_token_is_verified_as_the_kind_it_claims(
    production_tokens: ProductionTokens,
) -> None:
    """verify_bearer reads the issuer unverified only to choose the check: a token that
    claims to be a session cookie must pass the session cookie's check in full."""
    uid = _account(production_tokens)
    for token in (production_tokens.id_token(uid), production_tokens.session_cookie(uid)):
        assert identity.verify_bearer(token, check_revoked=True).uid == uid
    impostor = SigningKey.generate(production_tokens.key.key_id)
    forged = impostor.sign(production_tokens.claims(uid, SESSION_ISSUER))
    for refused in (forged, unsigned_token(production_tokens.claims(uid, SESSION_ISSUER))):
        with pytest.raises(Unauthorized, match="not valid"):
            identity.verify_bearer(refused)


def test_certificates_are_fetched_once(production_tokens: ProductionTokens) -> None:
    for uid in ("u1", "u2", "u3"):
        identity.verify_id_token(production_tokens.id_token(uid))
    assert production_tokens.edge.hits["certificates"] == 1  # Cache-Control: max-age


def test_no_session_from_an_old_sign_in(production_tokens: ProductionTokens) -> None:
    signed_in = int(time.time()) - identity.sessions.RECENT_SIGN_IN_SECONDS - 5
    token = production_tokens.id_token("u1", auth_time=signed_in)
    with pytest.raises(Unauthorized, match="too old"):
        identity.create_session_cookie(token)


def test_unreachable_certificates_are_an_outage(
    production_tokens: ProductionTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    from firebase_admin import _token_gen

    nowhere = f"http://127.0.0.1:{free_port()}/certs"
    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", nowhere)
    with pytest.raises(IdentityUnavailable) as raised:
        identity.verify_id_token(production_tokens.id_token("u1"))
    assert raised.value.status == 503 and raised.value.headers["Retry-After"]


def test_unreachable_account_lookups_are_an_outage(
    production_tokens: ProductionTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    from firebase_admin import _user_mgt

    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setattr(_user_mgt.UserManager, "ID_TOOLKIT_URL", nowhere)
    token = production_tokens.id_token("u1")
    assert identity.verify_id_token(token).uid == "u1"  # no lookup needed
    with pytest.raises(IdentityUnavailable):
        identity.verify_id_token(token, check_revoked=True)
