"""The web console's movie page against the running local stack (start it with `make run`).

Run: .venv/bin/python bench/bench_web.py [--base-url http://127.0.0.1:8080] [-n 300]

Seeds one movie with 200 real NSMC reviews (through the public API), signs the seeded member
in through the console's sign-in page (`make run` prints the account; its password is in
.local/auth-accounts.json) and writes one review as them, then prints:
- the server render of /films/<id> (HTML out of the console, which makes its four API calls
  in parallel, through the router as configured by `make run`): p50/p90/p99 signed out and
  signed in (the session cookie verified on every request, the controls of the member's own
  review drawn), through the router (one base URL, as a browser sees it) and straight to the
  console (--web-url); the target is p50 <= 50 ms signed in;
- in headless Chromium (Debian's, when installed): first contentful paint p50 over fresh
  page loads, the page weight (HTML + CSS + JS bytes), and console errors.
The movie (and with it the member's review) is deleted at the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import statistics
import time
from functools import partial
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Page, Response, sync_playwright

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "nsmc" / "reviews-test.tsv.gz"
MEMBER_REVIEW = "벤치마크 회원의 리뷰: 배우들 연기가 좋았어요"
FCP = "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def seed(base: str, key: str, reviews: int) -> int:
    session = requests.Session()
    session.headers["X-API-Key"] = key
    response = session.post(
        f"{base}/movies",
        json={
            "title": "벤치마크 영화",
            "genre": "드라마",
            "director": "벤치",
            "synopsis": "줄거리",
        },
        timeout=30,
    )
    response.raise_for_status()
    movie_id = int(response.json()["id"])
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as rows:
        texts = [t for line in list(rows)[1:] if (t := line.split("\t")[4].strip())]
    items = [
        {"movie_id": movie_id, "author": f"관객{i}", "content": texts[i % len(texts)]}
        for i in range(reviews)
    ]
    for start in range(0, reviews, 100):
        batch = session.post(
            f"{base}/reviews:batch", json={"items": items[start : start + 100]}, timeout=60
        )
        batch.raise_for_status()
    return movie_id


def signed_in(base: str, email: str, password: str) -> requests.Session:
    """A session signed in through the console's sign-in page, as a browser is. The session
    cookie is Secure, which requests keeps off plain http: marked sendable here (browsers
    send it to 127.0.0.1 and localhost)."""
    session = requests.Session()
    form = session.get(f"{base}/login", timeout=30)
    form.raise_for_status()
    match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if match is None:
        raise SystemExit("no CSRF token on the sign-in page")
    data = {"email": email, "password": password, "csrf_token": match.group(1)}
    answer = session.post(f"{base}/login", data=data, allow_redirects=False, timeout=30)
    if answer.status_code != 303 or "__Host-session" not in session.cookies:
        raise SystemExit(f"sign-in refused ({answer.status_code}): check --email/--password")
    for cookie in session.cookies:
        cookie.secure = False
    return session


def write_review(session: requests.Session, base: str, movie_id: int, text: str) -> None:
    """One review of the signed-in user's own, so the page draws its edit/delete controls."""
    page = session.get(f"{base}/films/{movie_id}", timeout=30).text
    fields = dict(re.findall(r'name="(csrf_token|request_id)" value="([^"]+)"', page))
    answer = session.post(
        f"{base}/films/{movie_id}/reviews",
        data={**fields, "content": text},
        allow_redirects=False,
        timeout=60,
    )
    if answer.status_code != 303:
        raise SystemExit(f"the member's review was refused ({answer.status_code})")


def member_account() -> tuple[str, str]:
    """The member `make run` seeds (its password is made once per checkout)."""
    passwords = json.loads((REPO / ".local" / "auth-accounts.json").read_text())
    return "member@example.com", str(passwords["member"])


def render_times(url: str, count: int, session: requests.Session | None = None) -> dict[str, float]:
    session = session or requests.Session()
    for _ in range(min(20, count)):  # warm the pools and the per-instance caches
        session.get(url, timeout=30).raise_for_status()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = session.get(url, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"unexpected {response.status_code} from {url}")
    return {
        "p50": percentile(times, 0.5),
        "p90": percentile(times, 0.9),
        "p99": percentile(times, 0.99),
        "mean": statistics.fmean(times),
    }


def _count_bytes(sizes: dict[str, int], response: Response) -> None:
    """HTML, CSS and JS bytes of a page (images are posters: not the page's weight)."""
    if response.request.resource_type in ("document", "stylesheet", "script"):
        sizes[response.url] = len(response.body())


def browser_figures(base: str, path: str, loads: int) -> dict[str, Any] | None:
    """First contentful paint p50 (a visitor coming from the home page, and a first visit in
    a fresh browser context), page weight and console errors in headless Chromium."""
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        return None
    errors: list[str] = []
    sizes: dict[str, int] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=exe, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )

        def fresh_page() -> Page:
            context = browser.new_context(locale="ko-KR", viewport={"width": 1200, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            return page

        def paint(page: Page) -> float:
            page.goto(base + path, wait_until="load")
            # polled from here: wait_for_function builds its predicate with eval, which the
            # console's CSP (script-src 'self') refuses
            deadline = time.monotonic() + 10
            while (value := page.evaluate(FCP)) is None:
                if time.monotonic() > deadline:
                    raise TimeoutError("no first contentful paint within 10 s")
                page.wait_for_timeout(20)
            return float(value)

        page = fresh_page()
        page.on("response", partial(_count_bytes, sizes))
        page.goto(base + "/", wait_until="load")  # a visitor arrives at the home page...
        paint(page)  # ...and opens the movie (the first time fills the caches on both sides)
        warm = [paint(page) for _ in range(loads)]
        page.context.close()
        cold = []
        for _ in range(loads):
            page = fresh_page()
            cold.append(paint(page))
            page.context.close()
        browser.close()
    # the movie page's document, stylesheet and scripts (the home page's document left out)
    weight = sum(size for url, size in sizes.items() if url != base + "/")
    return {
        "warm": statistics.median(warm),
        "cold": statistics.median(cold),
        "weight": weight,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--web-url", default="http://127.0.0.1:8085", help="the console alone")
    parser.add_argument("--api-key", default=None, help="default: .local/api-key")
    parser.add_argument("--reviews", type=int, default=200)
    parser.add_argument("-n", "--requests", type=int, default=300)
    parser.add_argument("--loads", type=int, default=10, help="browser page loads")
    parser.add_argument("--email", default=None, help="default: the member `make run` seeds")
    parser.add_argument("--password", default=None)
    args = parser.parse_args()
    key = args.api_key or (REPO / ".local" / "api-key").read_text().strip()
    email, password = (args.email, args.password) if args.email else member_account()

    movie_id = seed(args.base_url, key, args.reviews)
    path = f"/films/{movie_id}"
    try:
        member = {base: signed_in(base, email, password) for base in (args.base_url, args.web_url)}
        write_review(member[args.base_url], args.base_url, movie_id, MEMBER_REVIEW)
        print(f"movie page {path}: {args.reviews} reviews, {args.requests} requests each\n")
        print(f"{'server render':<44}{'p50':>8}{'p90':>8}{'p99':>8}{'mean':>8}  (ms)")
        targets = (("through the router", args.base_url), ("straight to the console", args.web_url))
        for label, base in targets:
            for who, session in (("signed out", None), ("signed in", member[base])):
                r = render_times(base + path, args.requests, session)
                row = f"{who}, {label}"
                print(f"{row:<44}{r['p50']:>8.2f}{r['p90']:>8.2f}{r['p99']:>8.2f}{r['mean']:>8.2f}")
        figures = browser_figures(args.base_url, path, args.loads)
        if figures is None:
            print("\nbrowser: no chromium (apt-get install chromium); figures skipped")
        else:
            print(f"\nfirst contentful paint p50, {args.loads} loads each:")
            print(f"  opened from the site (warm browser): {figures['warm']:.0f} ms")
            print(f"  first visit (fresh browser context): {figures['cold']:.0f} ms")
            print(f"page weight (HTML + CSS + JS):  {figures['weight'] / 1024:.1f} KiB")
            print(f"console errors:                 {len(figures['errors'])} {figures['errors']}")
    finally:
        requests.delete(
            f"{args.base_url}/movies/{movie_id}", headers={"X-API-Key": key}, timeout=30
        )


if __name__ == "__main__":
    main()
