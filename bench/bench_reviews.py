"""Request latency and throughput against the running local stack (start it with `make run`).

    .venv/bin/python bench/bench_reviews.py [--base-url http://127.0.0.1:8080] [-n 400]
    .venv/bin/python bench/bench_reviews.py --base-url http://127.0.0.1:8082 --clients 16
    .venv/bin/python bench/bench_reviews.py --mixed 60 [--clients 50]

Default: POST /reviews p50/p99 with 1 client and with 16 concurrent clients, end to end
(through the router unless --base-url names the function: 8082 is reviews direct).
`--mixed SECONDS`: --clients (50) clients for SECONDS through the router, each request drawn
as GET /movies (50%), GET /ratings/{id} (30%) or POST /reviews with an Idempotency-Key (20%);
prints p50/p99 per kind and overall, req/s and errors, then checks the rows: every 201 is a
stored review, no key stored twice, nothing stored that no client was told of (0 errors and
no lost row are targets, with p99 <= 250 ms and >= 360 req/s; POST /reviews 16 clients
direct: p99 <= 100 ms). Writes use the API key (X-API-Key: .local/api-key, or --api-key).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

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


class Connection:
    """One client's keep-alive connection. http.client, not requests: the load generator
    shares the 2 cores with the stack it measures, and requests spent ~1 ms of CPU per
    request there (19% of the machine under the mixed load), so its threads waited for
    the CPU and for their GIL, and that wait counted as the stack's latency."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)

    def request(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json"} if data is not None else {}
        try:
            self.conn.request(method, path, body=data, headers=sent | (headers or {}))
            answer = self.conn.getresponse()
            return answer.status, answer.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request opens a new connection
            raise


def run_client(base: str, key: str, movie_id: int, count: int, out: list[float]) -> None:
    connection = Connection(base)
    headers = {"X-API-Key": key}
    for i in range(count):
        body = {"movie_id": movie_id, "author": "bench", "content": TEXTS[i % len(TEXTS)]}
        started = time.perf_counter()
        status, answer = connection.request("POST", "/reviews", body, headers)
        out.append((time.perf_counter() - started) * 1000)
        if status != 201:
            raise SystemExit(f"unexpected {status}: {answer.decode(errors='replace')}")


def run_all(clients: Iterable[threading.Thread]) -> float:
    """Start every client at once, wait for all; the seconds they took."""
    threads = list(clients)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def measure(base: str, key: str, movie_id: int, clients: int, total: int) -> dict[str, float]:
    latencies: list[float] = []
    per_client = max(1, total // clients)
    elapsed = run_all(
        threading.Thread(target=run_client, args=(base, key, movie_id, per_client, latencies))
        for _ in range(clients)
    )
    return {
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "mean": statistics.fmean(latencies),
        "rps": len(latencies) / elapsed,
        "n": len(latencies),
    }


MIX = (("GET /movies", 0.5), ("GET /ratings/{id}", 0.3), ("POST /reviews", 0.2))


class Mixed:
    """The mixed load's clients, their latencies per kind, and what they were told."""

    def __init__(self, base: str, key: str, movie_ids: list[int], seconds: float) -> None:
        self.base, self.key, self.movie_ids = base, key, movie_ids
        self.until = time.perf_counter() + seconds
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.created: dict[str, int] = {}  # idempotency key -> review id answered
        self.tag = f"mixed-{uuid.uuid4().hex[:8]}"  # the author of every review of this run
        self.lock = threading.Lock()

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        connection = Connection(self.base)
        kinds = [kind for kind, _ in MIX]
        weights = [weight for _, weight in MIX]
        while time.perf_counter() < self.until:
            kind = rng.choices(kinds, weights)[0]
            movie = rng.choice(self.movie_ids)
            started = time.perf_counter()
            try:
                ok, key, review = self._one(connection, kind, movie, rng)
            except (OSError, http.client.HTTPException) as error:
                ok, key, review = False, None, None
                kind = f"{kind} ({type(error).__name__})"
            elapsed = (time.perf_counter() - started) * 1000
            with self.lock:
                self.latencies[kind].append(elapsed)
                if not ok:
                    self.errors.append(kind)
                elif key is not None and review is not None:
                    self.created[key] = review

    def _one(
        self, connection: Connection, kind: str, movie: int, rng: random.Random
    ) -> tuple[bool, str | None, int | None]:
        if kind == "GET /movies":
            status, _ = connection.request("GET", "/movies?limit=20")
            return status == 200, None, None
        if kind == "GET /ratings/{id}":
            status, _ = connection.request("GET", f"/ratings/{movie}")
            return status == 200, None, None
        key = uuid.uuid4().hex
        body = {"movie_id": movie, "author": self.tag, "content": rng.choice(TEXTS)}
        headers = {"X-API-Key": self.key, "Idempotency-Key": key}
        status, answer = connection.request("POST", "/reviews", body, headers)
        return status == 201, key, json.loads(answer)["id"] if status == 201 else None

    def check_rows(self) -> str:
        """Every review a client was told of is stored, and nothing else of this run is."""
        stored: set[int] = set()
        cursor = None
        while True:
            params: dict[str, str | int] = {"author": self.tag, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = requests.get(f"{self.base}/reviews", params=params, timeout=30).json()
            stored |= {item["id"] for item in page["items"]}
            cursor = page.get("next_cursor")
            if not cursor:
                break
        told = set(self.created.values())
        lost, unexpected = told - stored, stored - told
        return f"rows: {len(told)} answered 201, {len(stored)} stored, lost {len(lost)}, " + (
            f"stored without a 201 {len(unexpected)}"
        )


def mixed(base: str, key: str, clients: int, seconds: float) -> None:
    movie_ids = []
    for i in range(20):
        answer = requests.post(
            f"{base}/movies",
            json={"title": f"혼합 부하 {i}"},
            headers={"X-API-Key": key},
            timeout=30,
        )
        answer.raise_for_status()
        movie_ids.append(answer.json()["id"])
    # warm-up at the run's concurrency: the model, and every pooled connection opened (a
    # new PostgreSQL backend's first statements fill its caches and plan its triggers)
    warm = Mixed(base, key, movie_ids, 5)
    run_all(threading.Thread(target=warm.client, args=(i,)) for i in range(clients))
    load = Mixed(base, key, movie_ids, seconds)
    elapsed = run_all(threading.Thread(target=load.client, args=(i,)) for i in range(clients))
    print(f"mixed load via {base}: {clients} clients, {elapsed:.0f} s")
    print(f"{'kind':<34}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>8}")
    every = [value for values in load.latencies.values() for value in values]
    for kind, values in [*sorted(load.latencies.items()), ("all", every)]:
        print(
            f"{kind:<34}{len(values):>7}{percentile(values, 0.5):>9.1f}"
            f"{percentile(values, 0.99):>9.1f}{len(values) / elapsed:>8.0f}"
        )
    print(f"errors: {len(load.errors)}; {load.check_rows()}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


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
    parser.add_argument("--clients", type=int, default=None, help="16 (POST) or 50 (--mixed)")
    parser.add_argument("--mixed", type=float, default=None, metavar="SECONDS")
    args = parser.parse_args()
    key = args.api_key or (REPO / ".local" / "api-key").read_text().strip()
    if args.mixed:
        mixed(args.base_url, key, args.clients or 50, args.mixed)
        return
    movie = requests.post(
        f"{args.movies_url}/movies",
        json={"title": "벤치마크 영화"},
        headers={"X-API-Key": key},
        timeout=30,
    )
    movie.raise_for_status()
    movie_id = movie.json()["id"]
    clients = args.clients or 16
    # warm-up at the run's concurrency: the model, and every pooled connection opened (a
    # new PostgreSQL backend's first statements fill its caches and plan its triggers)
    measure(args.base_url, key, movie_id, clients, 10 * clients)
    print(f"POST /reviews via {args.base_url}")
    print(f"{'clients':>8}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'req/s':>8}")
    for concurrent in (1, clients):
        row = measure(args.base_url, key, movie_id, concurrent, args.n)
        print(
            f"{concurrent:>8}{row['n']:>6.0f}{row['p50']:>9.2f}{row['p99']:>9.2f}"
            f"{row['mean']:>9.2f}{row['rps']:>8.0f}"
        )


if __name__ == "__main__":
    main()
