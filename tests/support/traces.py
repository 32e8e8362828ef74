"""Spans written by TRACE_EXPORTER=file, read back (the `traced` fixture is in conftest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared import tracing

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def spans(path: Path) -> list[dict[str, Any]]:
    tracing.flush()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def trace_of(span: dict[str, Any]) -> str:
    return str(span["context"]["trace_id"]).removeprefix("0x")
