"""A cheap, diverse teacher: TF-IDF n-grams with logistic regression -> ``.local/teachers/``.

``python -m model.teacher_ngram --name ngram``
Character 1-4-grams (within words) and word 1-2-grams of the normalised text, TF-IDF
with sublinear counts. P(positive): logistic regression on the 1-4 and 9-10 reviews
(classes balanced); rating distribution: multinomial logistic regression on every
review. Train-split outputs are out-of-fold (each fifth predicted by the models fitted
on the other four), so the student never distils a memorised training label; dev and
test come from the models fitted on all of train.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from model import soft_targets
from model.data import Reviews, polarity, read_reviews
from model.paths import data_dir
from shared.sentiment.text import build_normalizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NgramConfig:
    char_max: int = 4
    word_max: int = 2
    min_df: int = 3
    max_features: int = 1_000_000  # per analyser
    c_positivity: float = 4.0
    c_rating: float = 1.0
    folds: int = 5
    max_iter: int = 300


def normalised(texts: list[str]) -> list[str]:
    normalizer = build_normalizer()
    return [normalizer.normalize_str(t) for t in texts]


class Features:
    """The fitted vectorisers (character and word n-grams)."""

    def __init__(self, cfg: NgramConfig, texts: list[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        common: dict[str, Any] = {
            "min_df": cfg.min_df,
            "sublinear_tf": True,
            "max_features": cfg.max_features,
            "dtype": np.float32,
        }
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, cfg.char_max), **common)
        self.word = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, cfg.word_max),
            token_pattern=r"\S+",  # noqa: S106 (a regex, not a password)
            **common,
        )
        self.char.fit(texts)
        self.word.fit(texts)

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        return sp.hstack([self.char.transform(texts), self.word.transform(texts)]).tocsr()


class NgramTeacher:
    """Both regressions on one feature matrix."""

    def __init__(self, cfg: NgramConfig) -> None:
        self.cfg = cfg

    def fit(self, x: sp.csr_matrix, ratings: np.ndarray) -> NgramTeacher:
        from sklearn.linear_model import LogisticRegression

        target = polarity(ratings)
        polar = ~np.isnan(target)
        self.positivity = LogisticRegression(
            C=self.cfg.c_positivity, max_iter=self.cfg.max_iter, class_weight="balanced"
        ).fit(x[polar], target[polar])
        self.rating = LogisticRegression(C=self.cfg.c_rating, max_iter=self.cfg.max_iter).fit(
            x, ratings
        )
        return self

    def predict(self, x: sp.csr_matrix, ratings: np.ndarray) -> soft_targets.SoftTargets:
        probs = np.zeros((x.shape[0], 10), dtype=np.float32)
        probs[:, self.rating.classes_ - 1] = self.rating.predict_proba(x)
        positivity = self.positivity.predict_proba(x)[:, 1].astype(np.float32)
        return soft_targets.SoftTargets(positivity, probs, ratings)


def out_of_fold(
    cfg: NgramConfig, x: sp.csr_matrix, ratings: np.ndarray
) -> soft_targets.SoftTargets:
    """Train-split outputs, each fold predicted by models that never saw it."""
    fold = np.random.default_rng(0).integers(0, cfg.folds, len(ratings))
    positivity = np.zeros(len(ratings), dtype=np.float32)
    probs = np.zeros((len(ratings), 10), dtype=np.float32)
    for k in range(cfg.folds):
        held = fold == k
        teacher = NgramTeacher(cfg).fit(x[~held], ratings[~held])
        out = teacher.predict(x[held], ratings[held])
        positivity[held], probs[held] = out.positivity, out.rating_probs
        log.info("fold %d/%d done", k + 1, cfg.folds)
    return soft_targets.SoftTargets(positivity, probs, ratings)


def run(cfg: NgramConfig, folder: Path, name: str, out: Path) -> None:
    splits = {s: read_reviews(folder / f"reviews-{s}.tsv.gz") for s in soft_targets.SPLITS}
    texts = {s: normalised(r.texts) for s, r in splits.items()}
    features = Features(cfg, texts["train"])
    x = {s: features.transform(t) for s, t in texts.items()}
    log.info("features: %s", {s: m.shape for s, m in x.items()})
    train: Reviews = splits["train"]
    full = NgramTeacher(cfg).fit(x["train"], train.ratings)
    for split in ("dev", "test"):
        outputs = full.predict(x[split], splits[split].ratings)
        soft_targets.save(soft_targets.teacher_file(name, split, out), outputs)
        log.info("%s %s written", name, split)
    outputs = out_of_fold(cfg, x["train"], train.ratings)
    soft_targets.save(soft_targets.teacher_file(name, "train", out), outputs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="ngram")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: the corpus")
    parser.add_argument("--out", type=Path, default=soft_targets.TEACHERS_DIR)
    defaults = NgramConfig()
    for key, value in defaults.__dict__.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = NgramConfig(**{k: getattr(args, k) for k in defaults.__dict__})
    run(cfg, args.data_dir or data_dir(), args.name, args.out)


if __name__ == "__main__":
    main()
