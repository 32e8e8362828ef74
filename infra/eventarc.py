"""A local Eventarc: turn new objects in an emulated bucket into storage CloudEvents.

Polls the bucket (gcp-storage-emulator has no notifications), and for every new
(name, generation) POSTs a `google.cloud.storage.object.v1.finalized` CloudEvent in binary
content mode to the target, at least once: non-2xx answers and connection errors are
retried with exponential backoff and full jitter, each object on its own worker so one
failing object never holds up the others. Our own outputs (reports/, rejects/) are skipped.
Delivered keys live in memory: a restart may redeliver, which the handler tolerates.

    python -m infra.eventarc --bucket uploads --target http://127.0.0.1:8084/
"""

from __future__ import annotations

import argparse
import logging
import random
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


def _iso(value: Any) -> str:
    when = value if isinstance(value, datetime) else datetime.now(UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def finalized_event(blob: Any) -> CloudEvent:
    """The CloudEvent GCS would emit for `blob` (data fields as in the storage JSON API)."""
    bucket = blob.bucket.name
    attributes = {
        "id": uuid.uuid4().hex,
        "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "type": FINALIZED,
        "subject": f"objects/{blob.name}",
        "time": _iso(blob.updated),
        "specversion": "1.0",
    }
    data = {
        "bucket": bucket,
        "name": blob.name,
        "generation": str(blob.generation),
        "metageneration": str(blob.metageneration or 1),
        "size": str(blob.size or 0),
        "contentType": blob.content_type or "application/octet-stream",
        "timeCreated": _iso(blob.time_created),
        "updated": _iso(blob.updated),
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

    def poll_once(self, pool: ThreadPoolExecutor) -> int:
        """Submit deliveries for objects not seen before; return how many."""
        client = storage.get_client()
        fresh = 0
        for blob in client.list_blobs(self.bucket):
            key = (blob.name, int(blob.generation))
            if key in self.seen or blob.name.startswith(IGNORED_PREFIXES):
                continue
            self.seen.add(key)
            pool.submit(self.deliver, finalized_event(blob))
            fresh += 1
        return fresh

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
