"""The local GCS: gcp-storage-emulator, plus object generations as our buckets keep them.

gcp-storage-emulator (written against 2026.7.19) keeps one generation per object and ignores
`generation=` on reads: it serves the live object whatever generation is asked for. In GCS a
bucket with versioning on (ours are, see terraform/modules/system/storage.tf) keeps every
generation, a read by generation serves that generation's bytes and metadata, and a
generation that no longer exists is a 404. This module adds that, and nothing else:

- an upload or delete in a versioned bucket keeps the generation it replaces as noncurrent
  (bytes and metadata as they were: size, crc32c, md5Hash), as GCS does;
- metadata reads and media downloads (ranges included) with `generation=` serve that
  generation, live or noncurrent, and answer 404 once it is gone (overwritten in an
  unversioned bucket, or deleted by generation);
- DELETE with `generation=` removes that generation for good; listing with `versions=true`
  lists noncurrent generations too, so Bucket.delete(force=True) can empty a bucket;
- GCS assigns the generation when an object is finalized (the emulator: when its upload
  starts), so generations of one object increase in the order they became live;
- buckets are created versioned unless the insert says otherwise (GCS's default is off; the
  stand-in's is how terraform creates ours);
- every finalized generation goes to a feed, `GET /_stand-in/b/<bucket>/finalized?since=N`,
  that the Eventarc stand-in reads as GCS's notifications feed Eventarc: one event per
  generation, even for one overwritten or deleted before anybody looked. The feed lives in
  memory; deleting a bucket (or wiping the emulator) empties that bucket's part.

    python -m infra.storage_emulator --port 9023 --data-dir .local/gcs
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from hashlib import sha256
from http import HTTPStatus
from pathlib import Path
from typing import Any

from gcp_storage_emulator import server as emulator
from gcp_storage_emulator.exceptions import Conflict, NotFound
from gcp_storage_emulator.handlers import buckets, objects
from gcp_storage_emulator.storage import Storage

Resource = dict[str, Any]  # a storage JSON API object or bucket resource
Handler = Callable[[Any, Any, Any], None]  # the emulator's (request, response, storage)

GENERATIONS_DIR = "_generations"  # bucket names cannot start with "_": no clash
GENERATIONS_META = ".generations"  # noncurrent metadata, next to the emulator's .meta
FEED_PATH = r"^/_stand-in/b/(?P<bucket_name>[-.\w]+)/finalized$"


class VersionedStorage(Storage):  # type: ignore[misc]  # the emulator is untyped
    """The emulator's storage, keeping noncurrent generations and a feed of finalized ones."""

    def __init__(self, *, in_memory: bool, data_dir: str | None = None) -> None:
        self.feed: dict[str, list[tuple[int, Resource]]] = {}  # bucket -> (position, object)
        self.position = 0  # of the last generation finalized, in any bucket
        super().__init__(use_memory_fs=in_memory, data_dir=data_dir)

    # persistence: noncurrent metadata beside the emulator's own .meta
    def _read_config_from_file(self) -> None:
        super()._read_config_from_file()
        try:
            self.noncurrent: dict[str, dict[str, dict[str, Resource]]] = json.loads(
                self._store.read_bytes(GENERATIONS_META)
            )
        except FileNotFoundError:
            self.noncurrent = {}

    def _write_config_to_file(self) -> None:
        super()._write_config_to_file()
        self._store.write_bytes(GENERATIONS_META, json.dumps(self.noncurrent).encode())

    def versioned(self, bucket: str) -> bool:
        return bool((self.buckets.get(bucket) or {}).get("versioning", {}).get("enabled"))

    def set_versioning(self, bucket: str, versioning: dict[str, Any]) -> Resource:
        self.buckets[bucket]["versioning"] = versioning
        self._write_config_to_file()
        return dict(self.buckets[bucket])

    # writes
    def create_file(
        self,
        bucket_name: str,
        file_name: str,
        content: bytes,
        file_obj: Resource,
        file_id: str | None = None,
    ) -> None:
        live = self.objects.get(bucket_name, {}).get(file_name)
        _stamp_generation(file_obj, after=live)
        if live is not None and self.versioned(bucket_name):
            self._keep_noncurrent(bucket_name, file_name, live)
        super().create_file(bucket_name, file_name, content, file_obj, file_id)
        self.position += 1
        self.feed.setdefault(bucket_name, []).append((self.position, dict(file_obj)))

    def delete_file(self, bucket_name: str, file_name: str) -> None:
        live = self.objects.get(bucket_name, {}).get(file_name)
        if live is None or not self.versioned(bucket_name):
            super().delete_file(bucket_name, file_name)  # the emulator's 404 or soft delete
            return
        self._keep_noncurrent(bucket_name, file_name, live)
        self._hard_delete_file(bucket_name, file_name)

    def delete_generation(self, bucket: str, name: str, generation: str) -> None:
        """Remove one generation for good (deleting the live one by number keeps no copy)."""
        live = self.objects.get(bucket, {}).get(name)
        if live is not None and live["generation"] == generation:
            self._hard_delete_file(bucket, name)
            return
        generations = self.noncurrent.get(bucket, {}).get(name, {})
        if generations.pop(generation, None) is None:
            raise NotFound(f"No such object: {bucket}/{name}#{generation}")
        if not generations:
            del self.noncurrent[bucket][name]
        self._store.remove_file(self._generation_path(bucket, name, generation))
        self._write_config_to_file()

    def delete_bucket(self, bucket_name: str) -> None:
        if self.noncurrent.get(bucket_name):  # GCS counts noncurrent generations as content
            raise Conflict(f"Bucket '{bucket_name}' is not empty")
        super().delete_bucket(bucket_name)
        self.noncurrent.pop(bucket_name, None)
        self.feed.pop(bucket_name, None)

    def wipe(self, keep_buckets: bool = False) -> None:
        self.noncurrent, self.feed = {}, {}
        super().wipe(keep_buckets)

    def _keep_noncurrent(self, bucket: str, name: str, live: Resource) -> None:
        content = self.get_file(bucket, name, show_error=False)
        self._store.write_bytes(self._generation_path(bucket, name, live["generation"]), content)
        noncurrent = dict(live, timeDeleted=_now())  # GCS stamps when it stopped being live
        self.noncurrent.setdefault(bucket, {}).setdefault(name, {})[live["generation"]] = noncurrent

    @staticmethod
    def _generation_path(bucket: str, name: str, generation: str) -> str:
        key = sha256(f"{name}#{generation}".encode()).hexdigest()
        return f"{GENERATIONS_DIR}/{bucket}/{key}"

    # reads
    def generation(self, bucket: str, name: str, generation: str) -> Resource:
        live = self.objects.get(bucket, {}).get(name)
        if live is not None and live["generation"] == generation:
            return live  # type: ignore[no-any-return]
        try:
            return self.noncurrent[bucket][name][generation]
        except KeyError:
            raise NotFound(f"No such object: {bucket}/{name}#{generation}") from None

    def generation_bytes(self, bucket: str, name: str, generation: str) -> bytes:
        if self.generation(bucket, name, generation) is self.objects.get(bucket, {}).get(name):
            return self.get_file(bucket, name)  # type: ignore[no-any-return]
        return self._store.read_bytes(self._generation_path(bucket, name, generation))  # type: ignore[no-any-return]

    def all_generations(self, bucket: str, prefix: str) -> list[Resource]:
        if bucket not in self.buckets:
            raise NotFound(bucket)
        live = [o for n, o in self.objects.get(bucket, {}).items() if n.startswith(prefix)]
        noncurrent = [
            o
            for n, generations in self.noncurrent.get(bucket, {}).items()
            if n.startswith(prefix)
            for o in generations.values()
        ]
        return sorted(live + noncurrent, key=lambda o: (o["name"], int(o["generation"])))

    def finalized_since(self, bucket: str, position: int) -> list[Resource]:
        return [obj for at, obj in self.feed.get(bucket, []) if at > position]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _stamp_generation(obj: Resource, after: Resource | None) -> None:
    """Give `obj` its generation as it is finalized: now, and after the live one's."""
    generation = time.time_ns()
    if after is not None:
        generation = max(generation, int(after["generation"]) + 1)
    previous, obj["generation"] = obj["generation"], str(generation)
    obj["id"] = f"{obj['bucket']}/{obj['name']}/{generation}"
    if isinstance(obj.get("mediaLink"), str):
        obj["mediaLink"] = obj["mediaLink"].replace(
            f"generation={previous}", f"generation={generation}"
        )


class AtGeneration:
    """The storage pinned at one generation, as the emulator's read handlers use it."""

    def __init__(self, storage: VersionedStorage, generation: str) -> None:
        self.storage, self.at = storage, generation

    def get_file_obj(self, bucket: str, name: str) -> Resource:
        return self.storage.generation(bucket, name, self.at)

    def get_file(self, bucket: str, name: str, show_error: bool = True) -> bytes:
        return self.storage.generation_bytes(bucket, name, self.at)


# The emulator's handlers this module replaces, and their replacements. Each replacement
# runs only on a VersionedStorage; on the emulator's own storage the original runs.
_REPLACED: dict[Handler, Handler] = {}


def _replaces(original: Handler) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        def route(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> None:
            if isinstance(storage, VersionedStorage):
                handler(request, response, storage)
            else:
                original(request, response, storage, *args, **kwargs)

        _REPLACED[original] = route
        return handler

    return register


def _query(request: Any, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None


def _flag(request: Any, name: str) -> bool:
    return (_query(request, name) or "").lower() in ("1", "true", "yes")


def _pinned(request: Any, storage: VersionedStorage) -> Any:
    generation = _query(request, "generation")
    return storage if generation is None else AtGeneration(storage, generation)


def _not_found_as_gcs(request: Any, response: Any) -> None:
    """GCS's 404 body (the emulator sends none)."""
    if response.status == HTTPStatus.NOT_FOUND:
        message = f"No such object: {request.params['bucket_name']}/{request.params['object_id']}"
        error = {"domain": "global", "reason": "notFound", "message": message}
        response.json({"error": {"code": 404, "message": message, "errors": [error]}})


@_replaces(objects.get)
def get(request: Any, response: Any, storage: VersionedStorage) -> None:
    if _flag(request, "softDeleted"):
        objects.get(request, response, storage)
        return
    objects.get(request, response, _pinned(request, storage))  # alt=media downloads too
    _not_found_as_gcs(request, response)


@_replaces(objects.download)
def download(request: Any, response: Any, storage: VersionedStorage) -> None:
    objects.download(request, response, _pinned(request, storage))
    _not_found_as_gcs(request, response)


@_replaces(objects.delete)
def delete(request: Any, response: Any, storage: VersionedStorage) -> None:
    generation = _query(request, "generation")
    if generation is None:
        objects.delete(request, response, storage)
        return
    try:
        storage.delete_generation(
            request.params["bucket_name"], request.params["object_id"], generation
        )
    except NotFound:
        response.status = HTTPStatus.NOT_FOUND
        _not_found_as_gcs(request, response)


@_replaces(objects.ls)
def ls(request: Any, response: Any, storage: VersionedStorage) -> None:
    if not _flag(request, "versions"):
        objects.ls(request, response, storage)
        return
    # every generation, in GCS's order (name, then generation); delimiter is not supported
    # with versions here, and nothing here lists that way
    try:
        items = storage.all_generations(
            request.params["bucket_name"], _query(request, "prefix") or ""
        )
    except NotFound:
        response.status = HTTPStatus.NOT_FOUND
        return
    response.json({"kind": "storage#objects", "prefixes": [], "items": items})


@_replaces(buckets.insert)
def insert_bucket(request: Any, response: Any, storage: VersionedStorage) -> None:
    """The emulator keeps only a new bucket's name; versioning comes from the insert, and is
    on unless the insert says otherwise."""
    buckets.insert(request, response, storage)
    body = request.data or {}
    if response.status == HTTPStatus.OK and body.get("name") in storage.buckets:
        versioning = body.get("versioning") or {"enabled": True}
        response.json(storage.set_versioning(str(body["name"]), versioning))


def finalized(request: Any, response: Any, storage: VersionedStorage) -> None:
    """GET /_stand-in/b/<bucket>/finalized?since=N: the generations finalized in the bucket
    after feed position N (0: all there are), and the position to ask from next."""
    since = int(_query(request, "since") or 0)
    items = storage.finalized_since(request.params["bucket_name"], since)
    response.json({"items": items, "next": storage.position})


def _install_handlers() -> None:
    """Point the emulator's routing table at the replacements and the feed (idempotent)."""
    if emulator.HANDLERS[0][0] == FEED_PATH:
        return
    table = [
        (path, {m: _REPLACED.get(h, h) for m, h in ms.items()}) for path, ms in emulator.HANDLERS
    ]
    emulator.HANDLERS = ((FEED_PATH, {"GET": finalized}), *table)


class Emulator(emulator.Server):  # type: ignore[misc]  # the emulator is untyped
    """gcp-storage-emulator's server on a VersionedStorage (Server.__init__ would build the
    emulator's own Storage; it sets nothing else that start, stop and wipe use)."""

    def __init__(
        self, host: str, port: int, *, in_memory: bool, data_dir: str | None = None
    ) -> None:
        _install_handlers()
        self._storage = VersionedStorage(in_memory=in_memory, data_dir=data_dir)
        self._api = emulator.APIThread(host, port, self._storage)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9023)
    parser.add_argument("--data-dir", default=".local/gcs", help="kept across restarts")
    parser.add_argument("--in-memory", action="store_true", help="keep nothing on disk")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # as the emulator's --quiet
    data_dir = str(Path(args.data_dir).resolve())
    Emulator(args.host, args.port, in_memory=args.in_memory, data_dir=data_dir).run()


if __name__ == "__main__":
    main()
