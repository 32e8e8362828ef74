"""The n-gram member: hashed TF-IDF n-grams with logistic regressions -> ``.local/teachers/``.

``python -m model.teacher_ngram --name ngram``
Character 1-4-grams (within space-padded words) and word 1-2-grams of the normalised
text, sublinear TF-IDF, built by ``shared.sentiment.ngrams`` (the code the runtime
scores with). P(positive): logistic regression on the 1-4 and 9-10 reviews (classes
balanced); rating distribution: multinomial logistic regression on every review.

Writes ``<out>/<name>/member.npz`` (the servable member, ``shared.sentiment.ngram_member``)
and its dev/test outputs as soon as the fit on all of train is done; then the train
outputs out of fold (each fold predicted by models fitted on the other folds, folds of
``model.data.fold_ids``), one file per fold under ``folds/`` so that a rerun resumes.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from model import soft_targets
from model.data import fold_ids, polarity, read_reviews
from model.paths import data_dir
from shared.sentiment.ngram_member import N_OUTPUTS, NgramMember
from shared.sentiment.ngrams import Featurizer, Hashed, Vocabulary, hashed_ngrams, truncated
from shared.sentiment.text import build_normalizer

log = logging.getLogger(__name__)
ABSENT_CLASS_BIAS = -30.0  # rating logit of a class the training rows never had


@dataclass(frozen=True)
class NgramConfig:
    char_max: int = 4
    word_max: int = 2
    min_df: int = 3
    char_features: int = 400_000
    word_features: int = 150_000
    c_positivity: float = 4.0
    c_rating: float = 1.0
    folds: int = 3
    max_iter: int = 300
    chunk: int = 20_000


def prepared(texts: list[str]) -> list[str]:
    """Normalised (the tokenizer's normaliser) and truncated like the runtime does."""
    normalizer = build_normalizer()
    return truncated([normalizer.normalize_str(t) for t in texts])


def chunks(texts: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


def hashed_families(cfg: NgramConfig, texts: list[str]) -> tuple[Hashed, Hashed]:
    return hashed_ngrams(texts, cfg.char_max, cfg.word_max)


def document_keys(hashed: Hashed) -> np.ndarray:
    """Each distinct (text, n-gram) once: the n-gram hashes that document frequency counts."""
    order = np.lexsort((hashed.keys, hashed.rows))
    rows, keys = hashed.rows[order], hashed.keys[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (keys[1:] != keys[:-1])
    return keys[first]


def counted(keys: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    unique, inverse = np.unique(keys, return_inverse=True)
    weights = None if counts is None else counts.astype(np.float64)
    return unique, np.bincount(inverse, weights=weights).astype(np.int64)


def select_vocabulary(
    keys: np.ndarray, df: np.ndarray, n_docs: int, cfg_max: int, min_df: int
) -> Vocabulary:
    """The ``cfg_max`` most frequent n-grams with df >= min_df; smooth idf as scikit-learn."""
    keep = np.flatnonzero(df >= min_df)
    keep = keep[np.lexsort((keys[keep], -df[keep]))][:cfg_max]  # by df, ties by hash
    keep = keep[np.argsort(keys[keep])]
    idf = np.log((1.0 + n_docs) / (1.0 + df[keep])) + 1.0
    return Vocabulary(keys[keep], idf.astype(np.float32))


def fit_vocabularies(cfg: NgramConfig, texts: list[str]) -> tuple[Vocabulary, Vocabulary]:
    """Character and word vocabularies with idf, from document frequencies over ``texts``."""
    partial: list[list[tuple[np.ndarray, np.ndarray]]] = [[], []]
    for i, chunk in enumerate(chunks(texts, cfg.chunk)):
        for family, hashed in enumerate(hashed_families(cfg, chunk)):
            partial[family].append(counted(document_keys(hashed)))
        if i % 5 == 0:
            log.info("document frequencies: %d/%d texts", (i + 1) * cfg.chunk, len(texts))
    limits = (cfg.char_features, cfg.word_features)
    vocabularies = []
    for family, parts in enumerate(partial):
        keys, df = counted(
            np.concatenate([k for k, _ in parts]), np.concatenate([c for _, c in parts])
        )
        vocabularies.append(select_vocabulary(keys, df, len(texts), limits[family], cfg.min_df))
        log.info(
            "family %d: %d distinct n-grams -> %d kept", family, len(keys), len(vocabularies[-1])
        )
    return vocabularies[0], vocabularies[1]


def feature_matrix(cfg: NgramConfig, featurizer: Featurizer, texts: list[str]) -> sp.csr_matrix:
    """TF-IDF rows (characters then words) of ``texts``, as one CSR matrix."""
    blocks = []
    for chunk in chunks(texts, cfg.chunk):
        sparse = featurizer.features(chunk)
        shape = (len(chunk), len(featurizer))
        blocks.append(sp.csr_matrix((sparse.values, (sparse.rows, sparse.columns)), shape=shape))
    return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, len(featurizer)))


class Regressions:
    """Both logistic regressions on one feature matrix."""

    def __init__(self, cfg: NgramConfig) -> None:
        self.cfg = cfg

    def fit(self, x: sp.csr_matrix, ratings: np.ndarray) -> Regressions:
        from sklearn.linear_model import LogisticRegression

        target = polarity(ratings)
        polar = ~np.isnan(target)
        start = time.time()
        self.positivity = LogisticRegression(
            C=self.cfg.c_positivity, max_iter=self.cfg.max_iter, class_weight="balanced"
        ).fit(x[polar], target[polar])
        log.info("positivity regression fitted in %.0f s", time.time() - start)
        start = time.time()
        self.rating = LogisticRegression(C=self.cfg.c_rating, max_iter=self.cfg.max_iter).fit(
            x, ratings
        )
        log.info("rating regression fitted in %.0f s", time.time() - start)
        return self

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """(features, 11) weights and (11,) bias: positivity logit, then ratings 1..10."""
        width = self.positivity.coef_.shape[1]
        weights = np.zeros((width, N_OUTPUTS), dtype=np.float32)
        bias = np.full(N_OUTPUTS, ABSENT_CLASS_BIAS, dtype=np.float32)
        weights[:, 0], bias[0] = self.positivity.coef_[0], self.positivity.intercept_[0]
        columns = self.rating.classes_.astype(np.int64)  # rating k -> column k
        coef = self.rating.coef_
        if len(columns) == 2:  # scikit-learn stores one row for two classes
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-self.rating.intercept_[0] / 2, self.rating.intercept_[0] / 2])
        else:
            intercept = self.rating.intercept_
        weights[:, columns] = coef.T
        bias[columns] = intercept
        return weights, bias

    def predict(self, x: sp.csr_matrix, ratings: np.ndarray) -> soft_targets.SoftTargets:
        probs = np.zeros((x.shape[0], 10), dtype=np.float32)
        probs[:, self.rating.classes_ - 1] = self.rating.predict_proba(x)
        positivity = self.positivity.predict_proba(x)[:, 1].astype(np.float32)
        return soft_targets.SoftTargets(positivity, probs, ratings)


def member_targets(
    member: NgramMember, texts: list[str], ratings: np.ndarray
) -> soft_targets.SoftTargets:
    """The member's outputs exactly as served (float16 weights, the runtime's code)."""
    parts = [member.probabilities(c) for c in chunks(texts, 20_000)]
    positivity = np.concatenate([p for p, _ in parts]).astype(np.float32)
    probs = np.concatenate([r for _, r in parts]).astype(np.float32)
    return soft_targets.SoftTargets(positivity, probs, ratings)


def out_of_fold(
    cfg: NgramConfig, x: sp.csr_matrix, ratings: np.ndarray, folder: Path
) -> soft_targets.SoftTargets:
    """Train-split outputs, each fold predicted by models that never saw it (resumable)."""
    fold = fold_ids(len(ratings), cfg.folds)
    positivity = np.zeros(len(ratings), dtype=np.float32)
    probs = np.zeros((len(ratings), 10), dtype=np.float32)
    for k in range(cfg.folds):
        held = fold == k
        path = folder / "folds" / f"{k}-of-{cfg.folds}.npz"
        if not path.exists():
            out = Regressions(cfg).fit(x[~held], ratings[~held]).predict(x[held], ratings[held])
            soft_targets.save(path, out)
        out = soft_targets.load(path)
        positivity[held], probs[held] = out.positivity, out.rating_probs
        log.info("fold %d/%d done", k + 1, cfg.folds)
    return soft_targets.SoftTargets(positivity, probs, ratings)


def run(cfg: NgramConfig, folder: Path, name: str, out: Path) -> None:
    splits = {s: read_reviews(folder / f"reviews-{s}.tsv.gz") for s in soft_targets.SPLITS}
    texts = {s: prepared(r.texts) for s, r in splits.items()}
    train_ratings = splits["train"].ratings
    featurizer = Featurizer(*fit_vocabularies(cfg, texts["train"]), cfg.char_max, cfg.word_max)
    x_train = feature_matrix(cfg, featurizer, texts["train"])
    log.info("train features %s, %d non-zeros", x_train.shape, x_train.nnz)
    member_path = out / name / "member.npz"
    if member_path.exists():
        member = NgramMember.from_bytes(member_path.read_bytes())
    else:
        weights, bias = Regressions(cfg).fit(x_train, train_ratings).weights()
        member = NgramMember(featurizer, weights, bias)
        member_path.parent.mkdir(parents=True, exist_ok=True)
        member_path.write_bytes(member.to_bytes())
        log.info("member -> %s (%.1f MB)", member_path, member_path.stat().st_size / 1e6)
    member = NgramMember.from_bytes(member_path.read_bytes())  # as served: float16 weights
    for split in ("dev", "test"):
        targets = member_targets(member, texts[split], splits[split].ratings)
        soft_targets.save(soft_targets.teacher_file(name, split, out), targets)
        log.info("%s %s written", name, split)
    train = out_of_fold(cfg, x_train, train_ratings, out / name)
    soft_targets.save(soft_targets.teacher_file(name, "train", out), train)
    log.info("%s train (out of fold) written", name)


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
