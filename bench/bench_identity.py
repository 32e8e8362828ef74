"""Benchmark identity verification (shared.identity) in production mode.

    .venv/bin/python bench/bench_identity.py [--rounds 2000]

Tokens are signed with a test RSA key whose certificate a local stand-in of Google's edge
serves (as in the production-mode tests); account lookups (check_revoked) go to the Auth
emulator on loopback, so that figure is the local cost only: in the cloud it adds one round
trip to Identity Platform. Prints: the cold import of firebase_admin.auth, the first
verification (client set-up and the certificate download), then p50/p95 of a verification
with cached certificates (ID token, session cookie) and with check_revoked.
Target (issue 18): verification adds <= 1 ms p50 to POST /reviews.
"""

from __future__ import annotations

import argparse
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

from infra.authemu import AuthEmulator, SeedAccount  # noqa: E402
from shared import identity  # noqa: E402
from tests.support.google_edge import (  # noqa: E402
    PRODUCTION_PROJECT,
    ProductionTokens,
    SigningKey,
    google_edge,
    use_production,
)
from tests.support.identity import reset_identity  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
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
        cases: list[tuple[str, Callable[[], object], int]] = [
            ("verify_id_token, cached certificates",
             lambda: identity.verify_id_token(id_token), args.rounds),
            ("verify_session_cookie, cached certificates",
             lambda: identity.verify_session_cookie(cookie), args.rounds),
            ("verify_id_token(check_revoked=True), lookup on loopback",
             lambda: identity.verify_id_token(id_token, check_revoked=True), few),
        ]  # fmt: skip
        for name, call, rounds in cases:
            call()  # warm
            print(f"{name}: {_ms(_timed(call, rounds))} ({rounds} rounds)")
        print(f"certificate downloads: {edge.hits['certificates']}")
        reset_identity()


if __name__ == "__main__":
    main()
