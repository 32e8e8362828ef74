"""A local Eventarc: turn finalized objects in an emulated bucket into storage CloudEvents.

Reads the local GCS's feed of finalized generations (infra/storage_emulator.py; GCS itself
notifies Eventarc through Pub/Sub), and for every (name, generation) POSTs a
`google.cloud.storage.object.v1.finalized` CloudEvent in binary content mode to the target,
at least once: non-2xx answers and connection errors are retried with exponential backoff
and full jitter, each object on its own worker so one failing object never holds up the
others. Every generation gets its event, also one overwritten or deleted before the next
poll (listing the bucket would see only the last). Our own outputs (reports/, rejects/) are
skipped. The feed and the delivered keys live in memory, so on start the live objects are
delivered too: a restart redelivers them (the handler tolerates that) rather than losing one.

    python -m infra.eventarc --bucket uploads --target http://127.0.0.1:8084/
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import secrets
import signal
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from shared import storage

log = logging.getLogger("infra.eventarc")
FINALIZED = "google.cloud.storage.object.v1.finalized"
IGNORED_PREFIXES = ("reports/", "rejects/")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: delay n is uniform in [0, min(cap, base*2^n)]."""

    base: float = 0.5
    cap: float = 60.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2 ** min(attempt, 30)))


def finalized_event(obj: dict[str, Any]) -> CloudEvent:
    """The CloudEvent GCS would emit for an object resource (storage JSON API fields)."""
    bucket, name = obj["bucket"], obj["name"]
    updated = obj.get("updated") or datetime.now(UTC).isoformat().replace("+00:00", "Z")
    attributes = {
        "id": uuid.uuid4().hex,
        "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "type": FINALIZED,
        "subject": f"objects/{name}",
        "time": updated,
        "specversion": "1.0",
        # as Eventarc does: a trace per event (W3C Distributed Tracing extension), which the
        # handler's spans and log lines continue (no sampling decision: theirs to make)
        "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
    }
    data = {
        "bucket": bucket,
        "name": name,
        "generation": str(obj["generation"]),
        "metageneration": str(obj.get("metageneration") or 1),
        "size": str(obj.get("size") or 0),
        "contentType": obj.get("contentType") or "application/octet-stream",
        "timeCreated": obj.get("timeCreated") or updated,
        "updated": updated,
    }
    return CloudEvent(attributes, data)


@dataclass
class Forwarder:
    """Polls one bucket and delivers each new object generation to `target`."""

    bucket: str
    target: str
    interval: float = 0.5
    workers: int = 4
    timeout: float = 600.0  # a delivery may take as long as the function's own limit
    backoff: Backoff = field(default_factory=Backoff)
    stopping: threading.Event = field(default_factory=threading.Event)
    seen: set[tuple[str, int]] = field(default_factory=set)
    since: int | None = None  # the feed position read up to; None before the first poll

    def poll_once(self, pool: ThreadPoolExecutor) -> int:
        """Submit deliveries for generations not seen before; return how many."""
        fresh = 0
        for obj in self._finalized():
            key = (obj["name"], int(obj["generation"]))
            if key in self.seen or obj["name"].startswith(IGNORED_PREFIXES):
                continue
            self.seen.add(key)
            pool.submit(self.deliver, finalized_event(obj))
            fresh += 1
        return fresh

    def _finalized(self) -> list[dict[str, Any]]:
        """The generations finalized since the last poll; on the first, the live ones too."""
        host = _storage_host()
        page = _get_json(f"{host}/_stand-in/b/{self.bucket}/finalized", since=self.since or 0)
        live = [] if self.since is not None else self._live(host)
        self.since = page["next"]
        return live + list(page["items"])

    def _live(self, host: str) -> list[dict[str, Any]]:
        return list(_get_json(f"{host}/storage/v1/b/{self.bucket}/o").get("items", []))

    def deliver(self, event: CloudEvent) -> bool:
        """POST until a 2xx answer (or shutdown); True when delivered."""
        headers, body = to_binary(event)
        name = event.data["name"] if isinstance(event.data, dict) else "?"
        attempt = 0
        while not self.stopping.is_set():
            try:
                response = requests.post(
                    self.target, headers=headers, data=body, timeout=self.timeout
                )
                if 200 <= response.status_code < 300:
                    log.info("delivered %s (attempt %d)", name, attempt + 1)
                    return True
                problem = f"HTTP {response.status_code}"
            except requests.RequestException as error:
                problem = f"{type(error).__name__}: {error}"
            delay = self.backoff.delay(attempt)
            attempt += 1
            log.warning(
                "delivery of %s failed (%s); retry %d in %.1fs", name, problem, attempt, delay
            )
            self.stopping.wait(delay)
        return False

    def run(self) -> None:
        """Poll until stopped; storage hiccups are logged and the next poll tries again."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="eventarc") as pool:
            while not self.stopping.is_set():
                try:
                    self.poll_once(pool)
                except Exception as error:  # keep polling through any hiccup
                    log.warning("polling gs://%s failed: %s", self.bucket, error)
                self.stopping.wait(self.interval)
            pool.shutdown(wait=False, cancel_futures=True)


def _get_json(url: str, **params: Any) -> dict[str, Any]:
    answer = requests.get(url, params=params, timeout=30)
    answer.raise_for_status()
    return dict(answer.json())


def _storage_host() -> str:
    host = os.environ.get("STORAGE_EMULATOR_HOST")
    if not host:
        raise RuntimeError("the Eventarc stand-in reads the local GCS: set STORAGE_EMULATOR_HOST")
    return host.rstrip("/")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", default="uploads")
    parser.add_argument("--target", default="http://127.0.0.1:8084/")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s eventarc %(message)s")
    forwarder = Forwarder(args.bucket, args.target, args.interval, args.workers)
    signal.signal(signal.SIGTERM, lambda *_: forwarder.stopping.set())
    bucket = storage.get_client().lookup_bucket(args.bucket)
    if bucket is None:
        storage.get_client().create_bucket(args.bucket)
    log.info("forwarding gs://%s to %s", args.bucket, args.target)
    try:
        forwarder.run()
    except KeyboardInterrupt:
        forwarder.stopping.set()


if __name__ == "__main__":
    main()
