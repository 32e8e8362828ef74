"""Static asset URLs with a content hash (cached for a year), and the templates' filters."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import flask

from shared.web.charts import LABEL_NAMES

STATIC = Path(__file__).resolve().parent / "static"


@lru_cache(maxsize=64)
def _digest(path: str) -> str:
    return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:12]


def url(path: str) -> str:
    """/assets/<path>?v=<hash>: a new file is a new URL, so it may be cached forever.
    Built once per app (a page asks for the same few on every render)."""
    built: dict[str, str] = flask.current_app.extensions.setdefault("asset_urls", {})
    if path not in built:
        built[path] = flask.url_for("static", filename=path, v=_digest(path))
    return built[path]


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def percent(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def day(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def label_name(label: str) -> str:
    return LABEL_NAMES.get(label, label)


FILTERS: dict[str, Any] = {
    "percent": percent,
    "number": number,
    "day": day,
    "label_name": label_name,
    "megabytes": megabytes,
}
