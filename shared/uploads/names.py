"""The names of upload objects, owned here for both sides of the bucket: the console, which
writes uploads and reads the answers back, and the upload handler, which reads uploads and
writes those answers. Imports nothing, so the console does not load the handler.
"""

from __future__ import annotations

REPORTS = "reports/"  # reports/<object>.json: what became of an upload
REJECTS = "rejects/"  # rejects/<object>.jsonl: the lines that were not stored, and why
# our own outputs live under these prefixes; processing them would retrigger forever
OWN_PREFIXES = (REPORTS, REJECTS)
FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".jsonl.gz": "jsonl", ".csv.gz": "csv"}
SUFFIXES = tuple(FORMATS)  # every file name an upload may end with (lower case)


def report_name(object_name: str) -> str:
    return f"{REPORTS}{object_name}.json"


def rejects_name(object_name: str) -> str:
    return f"{REJECTS}{object_name}.jsonl"


def format_of(object_name: str) -> str | None:
    """ "jsonl", "csv", or None for an unsupported file name."""
    lowered = object_name.lower()
    for suffix, kind in FORMATS.items():
        if lowered.endswith(suffix):
            return kind
    return None
