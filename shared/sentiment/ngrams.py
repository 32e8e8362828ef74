"""Hashed character and word n-grams of normalised texts, as sublinear TF-IDF rows.

One implementation serves both sides: ``model.teacher_ngram`` fits the n-gram member
with these features and the runtime scores with them, so training and serving cannot
drift apart. Two feature families:

* characters: the 1..``char_max``-grams inside each word padded with one space on both
  sides (``" 영화 "`` -> ``" "``, ``"영"``, ..., ``" 영화 "``), like scikit-learn's
  ``char_wb`` analyser;
* words: the 1..``word_max``-grams of the words.

Words are the whitespace-separated parts of a text (the normaliser has already
collapsed whitespace to single spaces).

An n-gram is identified by a 64-bit polynomial hash of its code points (wrapping
uint64 arithmetic), computed for a whole batch at once: the batch becomes one string,
then one uint32 array, and every n-gram size is a shifted multiply-add over it. A
vocabulary is a sorted array of hashes, looked up with one ``searchsorted``. Values
are ``(1 + ln count) * idf``, L2-normalised per row within each family (scikit-learn's
``TfidfVectorizer(sublinear_tf=True)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PRIME = np.uint64(0x100000001B3)  # FNV-1 64-bit prime: odd, so invertible modulo 2**64
PAIR = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier that combines word hashes into n-grams
SEPARATOR = "\x00"  # no n-gram spans it (between padded words and between texts)
SPACE = 32
MAX_CHARS = 1000  # of each normalised text: bounds the work per review


def truncated(texts: Sequence[str]) -> list[str]:
    """Each (normalised) text cut to ``MAX_CHARS``: the part both families look at."""
    return [t[:MAX_CHARS] for t in texts]


@dataclass(frozen=True)
class Hashed:
    """Every n-gram occurrence of a batch: its row (text index) and its 64-bit hash."""

    rows: np.ndarray  # int64
    keys: np.ndarray  # uint64


def split(texts: Sequence[str]) -> list[list[str]]:
    """The words of each text (split on whitespace, as the normaliser already spaced them)."""
    return [t.split() for t in texts]


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as uint64."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def joined_rows(parts: Sequence[str]) -> tuple[str, np.ndarray]:
    """``parts`` joined by the separator, and the row index of every code point."""
    lengths = np.fromiter((len(p) + 1 for p in parts), dtype=np.int64, count=len(parts))
    rows = np.repeat(np.arange(len(parts), dtype=np.int64), lengths)[:-1] if parts else lengths
    return SEPARATOR.join(parts), rows


def salted(keys: np.ndarray, order: int) -> np.ndarray:
    """The hash of an n-gram of ``order`` units: the order mixed in, so sizes never collide."""
    out: np.ndarray = keys * PRIME + np.uint64(order)
    return out


def char_ngrams(texts: Sequence[str], max_n: int) -> Hashed:
    """Character 1..``max_n``-grams within space-padded words (see module docstring)."""
    padded = [f" {f' {SEPARATOR} '.join(words)} " if words else "" for words in split(texts)]
    joined, rows = joined_rows(padded)
    codes = code_points(joined)
    blocked = np.concatenate([[0], np.cumsum(codes == 0)])  # separators before each index
    all_rows, all_keys = [], []
    running = codes
    for n in range(1, max_n + 1):
        if n > 1:
            running = running[:-1] * PRIME + codes[n - 1 :]
        starts = np.arange(len(running))
        valid = blocked[starts + n] == blocked[starts]
        all_rows.append(rows[: len(running)][valid])
        all_keys.append(salted(running[valid], n))
    return merged(all_rows, all_keys)


def word_ngrams(texts: Sequence[str], max_n: int) -> Hashed:
    """Word 1..``max_n``-grams: each word hashed from its code points with prefix sums."""
    joined, rows = joined_rows([" ".join(words) for words in split(texts)])
    codes = code_points(joined)
    is_word = (codes != 0) & (codes != SPACE)
    edges = np.diff(np.concatenate([[0], is_word.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    words = word_hashes(codes, starts, ends)
    word_rows = rows[starts] if len(starts) else np.zeros(0, dtype=np.int64)
    all_rows, all_keys = [], []
    running = words
    for n in range(1, max_n + 1):
        if n > 1:
            running = running[:-1] * PAIR + words[n - 1 :]
        same_text = word_rows[n - 1 :] == word_rows[: len(word_rows) - n + 1]
        all_rows.append(word_rows[: len(running)][same_text])
        all_keys.append(salted(running[same_text], n))
    return merged(all_rows, all_keys)


def word_hashes(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Polynomial hash sum_i c_i P^(end-1-i) of each word ``codes[start:end]``.

    With R = P^-1 (mod 2**64), sum_{i<e} c_i R^i is a prefix sum, and
    (prefix[e] - prefix[s]) * P^(e-1) is the word's hash: no loop over words.
    """
    powers, inverse_powers = _powers(len(codes))
    scaled = codes * inverse_powers[: len(codes)]
    prefix = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(scaled, dtype=np.uint64)])
    hashes: np.ndarray = (prefix[ends] - prefix[starts]) * powers[ends - 1]
    return hashes


_INVERSE = np.uint64(pow(int(PRIME), -1, 2**64))
_power_cache: list[tuple[np.ndarray, np.ndarray]] = []


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^i and P^-i (mod 2**64) for i < n (or more), from a cache grown by doubling."""
    if not _power_cache or len(_power_cache[-1][0]) < n:
        size = max(1024, 2 * n)
        one = np.ones(1, dtype=np.uint64)
        powers = np.concatenate([one, np.cumprod(np.full(size - 1, PRIME, dtype=np.uint64))])
        inverse = np.concatenate([one, np.cumprod(np.full(size - 1, _INVERSE, dtype=np.uint64))])
        _power_cache[:] = [(powers, inverse)]
    return _power_cache[-1]


def merged(rows: list[np.ndarray], keys: list[np.ndarray]) -> Hashed:
    """The occurrences of every n-gram size in one ``Hashed`` (not sorted by row)."""
    return Hashed(np.concatenate(rows), np.concatenate(keys))


@dataclass(frozen=True)
class Vocabulary:
    """One family's n-grams: sorted hashes and their inverse document frequencies."""

    keys: np.ndarray  # uint64, sorted, unique
    idf: np.ndarray  # float32, one per key

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, hashed: Hashed) -> tuple[np.ndarray, np.ndarray]:
        """(rows, columns) of the occurrences whose hash is in the vocabulary."""
        if not len(self.keys):
            return hashed.rows[:0], hashed.rows[:0]
        index = np.searchsorted(self.keys, hashed.keys)
        index[index == len(self.keys)] = 0
        found = self.keys[index] == hashed.keys
        return hashed.rows[found], index[found]


@dataclass(frozen=True)
class SparseRows:
    """TF-IDF values as coordinates: ``values[i]`` at (``rows[i]``, ``columns[i]``)."""

    rows: np.ndarray  # int64, non-decreasing
    columns: np.ndarray  # int64
    values: np.ndarray  # float32


def tfidf(hashed: Hashed, vocabulary: Vocabulary) -> SparseRows:
    """Sublinear TF-IDF of each row's in-vocabulary n-grams, L2-normalised per row."""
    rows, columns = vocabulary.lookup(hashed)
    width = max(len(vocabulary), 1)
    cells, counts = np.unique(rows * width + columns, return_counts=True)
    rows, columns = cells // width, cells % width
    values = ((1.0 + np.log(counts)) * vocabulary.idf[columns]).astype(np.float32)
    norms = np.sqrt(np.bincount(rows, weights=values * values))
    values /= norms[rows].astype(np.float32)
    return SparseRows(rows, columns, values)
