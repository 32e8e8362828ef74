"""POST /reviews latency against the running local stack (start it with `make run`).

Run: .venv/bin/python bench/bench_reviews.py [--base-url http://127.0.0.1:8080] [-n 500]
Prints p50/p99 with 1 client and with 16 concurrent clients, end to end through the
router, functions-framework, scoring and the database transaction.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
TEXTS = [
    "배우들 연기가 정말 최고였어요. 다시 보고 싶네요",
    "스토리가 너무 지루하고 결말도 엉망이다",
    "그냥 무난하게 볼만한 영화. 기대는 하지 말 것",
    "음악과 영상미가 아름다워서 눈물이 났다",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_client(base: str, key: str, movie_id: int, count: int, out: list[float]) -> None:
    session = requests.Session()
    headers = {"X-API-Key": key}
    for i in range(count):
        body = {"movie_id": movie_id, "author": "bench", "content": TEXTS[i % len(TEXTS)]}
        started = time.perf_counter()
        response = session.post(f"{base}/reviews", json=body, headers=headers, timeout=30)
        out.append((time.perf_counter() - started) * 1000)
        if response.status_code != 201:
            raise SystemExit(f"unexpected {response.status_code}: {response.text}")


def measure(base: str, key: str, movie_id: int, clients: int, total: int) -> dict[str, float]:
    latencies: list[float] = []
    per_client = max(1, total // clients)
    threads = [
        threading.Thread(target=run_client, args=(base, key, movie_id, per_client, latencies))
        for _ in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "mean": statistics.fmean(latencies),
        "rps": len(latencies) / elapsed,
        "n": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument(
        "--movies-url",
        default="http://127.0.0.1:8080",
        help="where to create the movie (the router, unless overridden)",
    )
    parser.add_argument("--api-key", default=None)
    parser.add_argument("-n", type=int, default=400)
    args = parser.parse_args()
    key = args.api_key or (REPO / ".local" / "api-key").read_text().strip()
    movie = requests.post(
        f"{args.movies_url}/movies",
        json={"title": "벤치마크 영화"},
        headers={"X-API-Key": key},
        timeout=30,
    )
    movie.raise_for_status()
    movie_id = movie.json()["id"]
    measure(args.base_url, key, movie_id, 1, 20)  # warm-up: model load, pool, caches
    print(f"POST /reviews via {args.base_url}")
    print(f"{'clients':>8}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'req/s':>8}")
    for clients in (1, 16):
        row = measure(args.base_url, key, movie_id, clients, args.n)
        print(
            f"{clients:>8}{row['n']:>6.0f}{row['p50']:>9.2f}{row['p99']:>9.2f}"
            f"{row['mean']:>9.2f}{row['rps']:>8.0f}"
        )


if __name__ == "__main__":
    main()
