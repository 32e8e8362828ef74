"""Print the traces `make run` wrote (TRACE_EXPORTER=file) as trees of spans with durations.

    python -m infra.traces [--file .local/traces.jsonl] [--last 1] [TRACE_ID ...]

Each trace: its spans nested under their parents, each with its duration in ms, its start
relative to the trace's first span, its service and a few attributes (the SQL statement's
first line). With no id, the `--last` traces to start. The trace id is the one the log
lines carry (logging.googleapis.com/trace).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

SHOWN_ATTRIBUTES = ("db.statement", "lines", "texts", "object", "start")


def load(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Spans by trace id, as the SDK's JSON wrote them."""
    traces: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            span = json.loads(line)
            traces[span["context"]["trace_id"].removeprefix("0x")].append(span)
    return traces


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _label(span: dict[str, Any], origin: datetime) -> str:
    start, end = _time(span["start_time"]), _time(span["end_time"])
    attributes = span.get("attributes") or {}
    shown = [
        f"{k}={' '.join(str(attributes[k]).split())[:70]}"
        for k in SHOWN_ATTRIBUTES
        if k in attributes
    ]
    service = span.get("resource", {}).get("attributes", {}).get("service.name", "")
    took, at = (end - start).total_seconds() * 1000, (start - origin).total_seconds() * 1000
    return f"{took:9.2f} ms  +{at:8.1f}  {span['name']}  [{service}] {' '.join(shown)}"


def render(spans: list[dict[str, Any]]) -> Iterable[str]:
    """One line per span, children indented under their parent, in start order."""
    by_id = {span["context"]["span_id"]: span for span in spans}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        parent = span.get("parent_id")
        children[parent if parent in by_id else None].append(span)
    origin = min(_time(span["start_time"]) for span in spans)

    def walk(parent: str | None, depth: int) -> Iterable[str]:
        for span in sorted(children[parent], key=lambda s: s["start_time"]):
            yield "  " * depth + _label(span, origin)
            yield from walk(span["context"]["span_id"], depth + 1)

    yield from walk(None, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*")
    parser.add_argument("--file", type=Path, default=Path(".local/traces.jsonl"))
    parser.add_argument("--last", type=int, default=1)
    args = parser.parse_args()
    traces = load(args.file)
    ids = args.ids or sorted(traces, key=lambda t: min(s["start_time"] for s in traces[t]))
    for trace_id in ids if args.ids else ids[-args.last :]:
        print(f"trace {trace_id} ({len(traces[trace_id])} spans)")
        for line in render(traces[trace_id]):
            print("  " + line)


if __name__ == "__main__":
    main()
