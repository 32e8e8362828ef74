"""Baselines on the same test split: char 1-3-gram TF-IDF + logistic regression / ridge.

``python -m model.baselines [--train F] [--test F] [--out model/baselines.json]``

* ``nsmc_accuracy``: logistic regression on 1-4 vs 9-10 train rows, balanced test sample,
* ``macro_f1``: its probability with a neutral band chosen on dev,
* ``rating_mae``: ridge regression on all train ratings (clipped to 1..10),
* ``constant_mae``: predicting the train median rating for everything.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from model.data import polarity, read_reviews, three_class
from model.metrics import balanced_accuracy, choose_band, macro_f1, rating_mae
from model.paths import MODEL_DIR, split_file
from shared.sentiment.decision import band_labels
from shared.sentiment.text import normalize


def run_baselines(train_path: Path, dev_path: Path, test_path: Path, limit: int | None) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, Ridge

    train, dev, test = (read_reviews(p, limit) for p in (train_path, dev_path, test_path))
    vectorizer = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(1, 3),
        min_df=3,
        sublinear_tf=True,
        max_features=300_000,
        preprocessor=normalize,
    )
    x_train = vectorizer.fit_transform(train.texts)
    x_dev, x_test = vectorizer.transform(dev.texts), vectorizer.transform(test.texts)
    target = polarity(train.ratings)
    polar = ~np.isnan(target)
    logreg = LogisticRegression(C=4.0, max_iter=1000, class_weight="balanced")
    logreg.fit(x_train[polar], target[polar])
    dev_p, test_p = logreg.predict_proba(x_dev)[:, 1], logreg.predict_proba(x_test)[:, 1]
    low, high, _ = choose_band(dev_p, dev.ratings)
    ridge = Ridge(alpha=1.0).fit(x_train, train.ratings.astype(float))
    ridge_pred = np.clip(ridge.predict(x_test), 1, 10)
    median = float(np.median(train.ratings))
    return {
        "tfidf_logreg_nsmc_accuracy": round(balanced_accuracy(test_p, test.ratings), 4),
        "tfidf_logreg_macro_f1": round(
            macro_f1(three_class(test.ratings), band_labels(test_p, low, high)), 4
        ),
        "tfidf_ridge_rating_mae": round(rating_mae(ridge_pred, test.ratings), 4),
        "constant_rating_mae": round(rating_mae(np.full(len(test), median), test.ratings), 4),
        "constant_rating": median,
        "n_test": len(test),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, default=None)
    parser.add_argument("--dev", type=Path, default=None)
    parser.add_argument("--test", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=MODEL_DIR / "baselines.json")
    args = parser.parse_args(argv)
    result = run_baselines(
        args.train or split_file("train"),
        args.dev or split_file("dev"),
        args.test or split_file("test"),
        args.limit,
    )
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
