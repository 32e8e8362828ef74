"""Benchmark identity verification (shared.identity) in production mode, alone and in
POST /reviews.

    .venv/bin/python bench/bench_identity.py [--rounds 2000] [--requests 400]

Tokens are signed with a test RSA key whose certificate a local stand-in of Google's edge
serves (as in the production-mode tests); account lookups (check_revoked) go to the Auth
emulator on loopback, so that figure is the local cost only: in the cloud it adds one round
trip to Identity Platform. Prints: the cold import of firebase_admin.auth, the first
verification (client set-up and the certificate download), then p50/p95 of a verification
with cached certificates (ID token, session cookie) and with check_revoked.

Then POST /reviews through the reviews function (functions-framework's app, its test
client, an embedded PostgreSQL, the committed model), the three kinds of request taken in
turn so that they share the machine's noise: with the API key (no token to verify), with
a member's ID token as the API takes it (signature, expiry, audience, issuer, and the
revocation lookup every write makes), and with the same token minus the lookup (patched
out here only, to separate what the signature check costs from what the lookup costs).
Target (issue 18): verification adds <= 1 ms p50 to POST /reviews (certificates cached).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # runnable as `python bench/bench_identity.py` too

from infra import migrate  # noqa: E402
from infra.authemu import AuthEmulator, SeedAccount  # noqa: E402
from infra.localpg import EmbeddedPostgres, free_port  # noqa: E402
from shared import identity, lazy  # noqa: E402
from shared.http import credentials  # noqa: E402
from shared.identity.verify import identity_from_authorization as verify  # noqa: E402
from shared.settings import get_settings  # noqa: E402
from tests.support import function_client  # noqa: E402
from tests.support.google_edge import (  # noqa: E402
    PRODUCTION_PROJECT,
    ProductionTokens,
    SigningKey,
    google_edge,
    use_production,
)
from tests.support.identity import reset_identity  # noqa: E402

# the API's verification, or a stand-in for it (identity_from_authorization's shape)
Verifier = Callable[..., "identity.Identity | None"]

IMPORT = (
    "import time; t = time.perf_counter(); import firebase_admin.auth; "
    "print(time.perf_counter() - t)"
)


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {statistics.median(ordered) * 1000:.3f} ms, p95 {p95 * 1000:.3f} ms"


def _timed(call: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def cold_import(runs: int = 5) -> str:
    seconds = [
        float(subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(runs)
    ]  # fmt: skip
    return f"median {statistics.median(seconds):.3f} s of {runs} fresh processes"


BENCH_KEY = "bench-api-key"
TEXT = "배우들 연기가 정말 최고였어요. 다시 보고 싶네요"


def post_reviews(patch: pytest.MonkeyPatch, mint: Callable[[], str], requests: int) -> None:
    """POST /reviews with the key, with the token, and with the token minus the lookup."""
    with tempfile.TemporaryDirectory() as root:
        server = EmbeddedPostgres(Path(root), free_port(), durable=False).start()
        try:
            url = server.create_database("bench")
            migrate.upgrade_database(url)
            patch.setenv("DATABASE_URL", url)
            patch.setenv("API_KEYS", BENCH_KEY)
            patch.setenv("API_WRITE_RATE_LIMIT", "1000000/minute")
            get_settings.cache_clear()
            lazy.reset_all()
            _measure_posts(patch, mint, requests)
        finally:
            lazy.reset_all()
            server.stop("immediate")


def unchecked(header: str | None, *, check_revoked: bool = False) -> identity.Identity | None:
    """The API's verification minus the revocation lookup (this bench's comparison only)."""
    return verify(header, check_revoked=False)


def _measure_posts(patch: pytest.MonkeyPatch, mint: Callable[[], str], requests: int) -> None:
    key = {"X-API-Key": BENCH_KEY}
    created = function_client("movies").post("/movies", json={"title": "벤치"}, headers=key)
    movie_id = created.get_json()["id"]
    reviews = function_client("reviews")
    bearer = {"Authorization": f"Bearer {mint()}"}  # a client sends its token for an hour
    verified = verify(bearer["Authorization"], check_revoked=True)

    def given(header: str | None, *, check_revoked: bool = False) -> identity.Identity | None:
        return verified  # the member's path with no verification at all

    def fresh() -> dict[str, str]:
        return {"Authorization": f"Bearer {mint()}"}  # minted before the clock starts

    kinds: dict[str, tuple[Callable[[], dict[str, str]], dict[str, object], Verifier]] = {
        "X-API-Key": (lambda: key, {"author": "bench"}, verify),
        "ID token (as the API verifies it)": (lambda: bearer, {}, verify),
        "ID token without the revocation lookup": (lambda: bearer, {}, unchecked),
        "ID token, a new one each request (first verification)": (fresh, {}, verify),
        "ID token, identity given (nothing verified)": (lambda: bearer, {}, given),
    }
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    for i in range(requests + 20):  # the first 20 of each warm up (model, pool, caches)
        for name, (headers_of, extra, verifier) in kinds.items():
            patch.setattr(credentials, "identity_from_authorization", verifier)
            body = {"movie_id": movie_id, "content": TEXT, **extra}
            headers = headers_of()
            start = time.perf_counter()
            response = reviews.post("/reviews", json=body, headers=headers)
            elapsed = time.perf_counter() - start
            if response.status_code != 201:
                raise SystemExit(f"{name}: {response.status_code} {response.get_data(True)}")
            if i >= 20:
                samples[name].append(elapsed)
    base = statistics.median(samples["X-API-Key"])
    print(f"POST /reviews, {requests} each (test client, embedded PostgreSQL):")
    for name, values in samples.items():
        added = (statistics.median(values) - base) * 1000
        print(f"  {name}: {_ms(values)}; p50 {added:+.3f} ms against the key")
    # what verification adds to a member's write (the member's write itself: its row's
    # user_id, the per-account rate limit, the author from the account)
    member = statistics.median(samples["ID token, identity given (nothing verified)"])
    for name in list(samples)[1:-1]:
        added = (statistics.median(samples[name]) - member) * 1000
        print(f"verification in POST /reviews, {name}: p50 {added:+.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=400, help="POST /reviews per kind")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the stand-in's request lines
    print(f"import firebase_admin.auth: {cold_import()}")
    key = SigningKey.generate("bench-key")
    with (
        AuthEmulator("demo-bench") as emulator,
        google_edge(key) as edge,
        pytest.MonkeyPatch.context() as patch,
        tempfile.TemporaryDirectory() as scratch,
    ):
        use_production(patch, edge, emulator, Path(scratch))
        reset_identity()
        tokens = ProductionTokens(key, edge, emulator)
        uid = emulator.seed(
            SeedAccount("bench@example.com", "bench-password", "벤치"), PRODUCTION_PROJECT
        )
        id_token, cookie = tokens.id_token(uid, role="admin"), tokens.session_cookie(uid)

        start = time.perf_counter()
        identity.verify_id_token(id_token)
        print(f"first verification (client, certificate download): "
              f"{(time.perf_counter() - start) * 1000:.1f} ms")  # fmt: skip
        few = max(args.rounds // 10, 20)
        # a claim of their own each: tokens minted in the same second are otherwise identical
        new_tokens = iter([tokens.id_token(uid, role="admin", n=n) for n in range(few + 1)])
        new_cookies = iter([tokens.session_cookie(uid, n=n) for n in range(few + 1)])
        cases: list[tuple[str, Callable[[], object], int]] = [
            ("verify_id_token, a new token each call (cached certificates)",
             lambda: identity.verify_id_token(next(new_tokens)), few),
            ("verify_session_cookie, a new cookie each call",
             lambda: identity.verify_session_cookie(next(new_cookies)), few),
            ("verify_id_token, the same token again (remembered until its exp)",
             lambda: identity.verify_id_token(id_token), args.rounds),
            ("verify_session_cookie, the same cookie again",
             lambda: identity.verify_session_cookie(cookie), args.rounds),
            ("verify_id_token(check_revoked=True), standing remembered (10 s)",
             lambda: identity.verify_id_token(id_token, check_revoked=True), few),
        ]  # fmt: skip
        for name, call, rounds in cases:
            call()  # warm
            print(f"{name}: {_ms(_timed(call, rounds))} ({rounds} rounds)")
        patch.setenv("IDENTITY_REVOCATION_CACHE_SECONDS", "0")  # every check asks
        get_settings.cache_clear()
        lookups = _timed(lambda: identity.verify_id_token(id_token, check_revoked=True), few)
        print(f"verify_id_token(check_revoked=True), every lookup asked (Auth emulator on "
              f"loopback): {_ms(lookups)} ({few} rounds)")  # fmt: skip
        patch.delenv("IDENTITY_REVOCATION_CACHE_SECONDS")
        get_settings.cache_clear()
        print(f"certificate downloads: {edge.hits['certificates']}")
        member = emulator.seed(
            SeedAccount("member@example.com", "bench-password", "관객"), PRODUCTION_PROJECT
        )
        minted = itertools.count()
        post_reviews(
            patch, lambda: tokens.id_token(member, name="관객", n=next(minted)), args.requests
        )
        print(f"certificate downloads: {edge.hits['certificates']}")
        reset_identity()


if __name__ == "__main__":
    main()
