"""The storage `object.finalized` CloudEvent, reduced to what ingestion needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.uploads import names


class MalformedEvent(ValueError):
    """The event lacks what identifies an object; retrying cannot fix it."""


@dataclass(frozen=True)
class UploadObject:
    """One generation of one object: the unit of exactly-once processing."""

    bucket: str
    name: str
    generation: int
    size: int | None = None

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"

    def source_key(self, line: int) -> str:
        return f"gs://{self.bucket}/{self.name}#{self.generation}:{line}"

    @property
    def is_own_output(self) -> bool:
        return self.name.startswith(names.OWN_PREFIXES)

    @property
    def is_folder(self) -> bool:
        """A console-made "folder" placeholder: nothing to ingest, nothing to report."""
        return self.name.endswith("/")

    @property
    def format(self) -> str | None:
        """ "jsonl", "csv", or None for an unsupported extension."""
        return names.format_of(self.name)

    @property
    def gzipped(self) -> bool:
        return self.name.lower().endswith(".gz")


def attribute(event: Any, name: str) -> Any:
    """A CloudEvent attribute (extensions too, e.g. traceparent), None when absent."""
    try:
        return event[name]
    except KeyError:
        return None


def parse(event: Any) -> tuple[UploadObject, datetime | None]:
    """The object an event names and the event's time (None when absent)."""
    data = event.data if isinstance(getattr(event, "data", None), dict) else None
    if data is None:
        raise MalformedEvent("event data is not a JSON object")
    try:
        size = data.get("size")
        obj = UploadObject(
            bucket=str(data["bucket"]),
            name=str(data["name"]),
            generation=int(data["generation"]),
            size=int(size) if size not in (None, "") else None,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedEvent(f"event data lacks bucket/name/generation: {error}") from error
    if not obj.bucket or not obj.name:
        raise MalformedEvent("event names no bucket or object")
    return obj, _event_time(attribute(event, "time"))


def _event_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def age_seconds(when: datetime | None, now: datetime | None = None) -> float:
    """How old the event is; 0 when it carries no time."""
    if when is None:
        return 0.0
    return ((now or datetime.now(UTC)) - when).total_seconds()
