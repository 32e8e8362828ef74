"""Morpheme-segmented copies of the corpus files, for a teacher with another tokenisation.

``python -m model.morphemes`` -> ``.local/morphemes/reviews-{train,dev,test}.tsv.gz``
Each review's text becomes its morphemes (kiwipiepy's analyser, which also corrects
common spacing and typing errors) separated by spaces; every other column and the row
order stay as they are, so the usual tokenizer/train/teacher_predict steps run on the
copies (``--train/--dev/--data-dir``) and line up with the other teachers row by row.
Teacher-only: kiwipiepy's model is ~90 MB and ~500 MB in memory, too heavy to serve.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from model.data import COLUMNS
from model.paths import split_file
from model.soft_targets import LOCAL_DIR, SPLITS

log = logging.getLogger(__name__)
MORPHEMES_DIR = LOCAL_DIR / "morphemes"


def rows_of(path: Path) -> Iterator[list[str]]:
    csv.field_size_limit(1 << 24)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if tuple(next(reader)) != COLUMNS:
            raise ValueError(f"{path}: unexpected header")
        yield from reader


def segment(texts: Iterable[str], workers: int) -> Iterator[str]:
    """Each text as space-separated morphemes (the text itself if none are found)."""
    from kiwipiepy import Kiwi

    kiwi = Kiwi(num_workers=workers)
    pending = list(texts)
    for text, tokens in zip(pending, kiwi.tokenize(pending), strict=True):
        forms = " ".join(t.form for t in tokens if not t.form.isspace())
        yield forms or text


def convert(src: Path, dst: Path, workers: int) -> int:
    rows = list(rows_of(src))
    texts = [row[4] if len(row) == len(COLUMNS) else "" for row in rows]
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(
            handle, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None, lineterminator="\n"
        )
        writer.writerow(COLUMNS)
        for row, morphs in zip(rows, segment(texts, workers), strict=True):
            # rows read_reviews would skip stay as they are, so they are skipped again
            keep = len(row) == len(COLUMNS) and row[4].strip()
            writer.writerow([*row[:4], morphs] if keep else row)
    tmp.replace(dst)
    return len(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=MORPHEMES_DIR)
    parser.add_argument("--splits", nargs="+", default=list(SPLITS))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for split in args.splits:
        dst = args.out / f"reviews-{split}.tsv.gz"
        log.info("%s: %d rows -> %s", split, convert(split_file(split), dst, args.workers), dst)


if __name__ == "__main__":
    main()
