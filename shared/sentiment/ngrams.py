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
vocabulary is a sorted array of hashes, looked up through one open-addressing
table (``shared.sentiment.hashtable``). Values
are ``(1 + ln count) * idf``, L2-normalised per row within each family (scikit-learn's
``TfidfVectorizer(sublinear_tf=True)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np

from shared.sentiment.hashtable import HashTable

PRIME = np.uint64(0x100000001B3)  # FNV-1 64-bit prime: odd, so invertible modulo 2**64
PAIR = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier that combines word hashes into n-grams
SEPARATOR = "\x00"  # no n-gram spans it (between padded words and between texts)
SPACE = 32
MAX_CHARS = 300  # of each normalised text (the corpus has none above 150): bounds the work


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


def hashed_ngrams(texts: Sequence[str], char_max: int, word_max: int) -> tuple[Hashed, Hashed]:
    """(character n-grams, word n-grams) of every text, from one code-point array.

    The texts become ``" w1 \\0 w2 \\0 ... "`` joined by the separator: character
    n-grams are the windows without a separator; words are the runs of code points
    that are neither space nor separator.
    """
    padded = [f" {f' {SEPARATOR} '.join(words)} " if words else "" for words in split(texts)]
    joined, rows = joined_rows(padded)
    codes = code_points(joined)
    return char_windows(codes, rows, char_max), word_grams(codes, rows, word_max)


def char_ngrams(texts: Sequence[str], max_n: int) -> Hashed:
    """Character 1..``max_n``-grams within space-padded words (see module docstring)."""
    return hashed_ngrams(texts, max_n, 0)[0]


def word_ngrams(texts: Sequence[str], max_n: int) -> Hashed:
    """Word 1..``max_n``-grams (see module docstring)."""
    return hashed_ngrams(texts, 0, max_n)[1]


def char_windows(codes: np.ndarray, rows: np.ndarray, max_n: int) -> Hashed:
    """Every window of 1..max_n code points free of separators, hashed in one matrix product.

    ``windows[i, j] = codes[i + j]`` (zeros past the end act as separators), and
    ``windows @ POWERS`` gives in column n-1 the hash sum_j c_{i+j} P^(n-1-j) of the
    n-gram starting at i: the same value as the running multiply-add c_0 P + c_1 ...
    """
    if max_n == 0 or not len(codes):
        return Hashed(rows[:0], codes[:0])
    tail = np.concatenate([codes, np.zeros(max_n - 1, dtype=np.uint64)])
    windows = np.stack([tail[j : j + len(codes)] for j in range(max_n)], axis=1)
    valid = np.cumsum(windows == 0, axis=1) == 0
    hashes = (windows @ _window_powers(max_n)) * PRIME + np.arange(1, max_n + 1, dtype=np.uint64)
    return Hashed(np.broadcast_to(rows[:, None], valid.shape)[valid], hashes[valid])


@cache
def _window_powers(max_n: int) -> np.ndarray:
    """(max_n, max_n) uint64: entry (j, n-1) is P^(n-1-j) for j < n, else 0."""
    matrix = np.zeros((max_n, max_n), dtype=np.uint64)
    for n in range(1, max_n + 1):
        for j in range(n):
            matrix[j, n - 1] = pow(int(PRIME), n - 1 - j, 2**64)
    return matrix


def word_grams(codes: np.ndarray, rows: np.ndarray, max_n: int) -> Hashed:
    """Word 1..max_n-grams: words hashed with prefix sums, n-grams combined with ``PAIR``."""
    is_word = (codes != 0) & (codes != SPACE)
    edges = np.flatnonzero(np.diff(is_word, prepend=False, append=False))  # boolean: !=
    if max_n == 0 or not len(edges):
        return Hashed(rows[:0], codes[:0])
    starts, ends = edges[0::2], edges[1::2]
    words, word_rows = word_hashes(codes, starts, ends), rows[starts]
    all_rows, all_keys = [word_rows], [salted(words, 1)]
    running = words
    for n in range(2, max_n + 1):
        running = running[:-1] * PAIR + words[n - 1 :]
        same_text = word_rows[n - 1 :] == word_rows[: len(word_rows) - n + 1]
        all_rows.append(word_rows[: len(running)][same_text])
        all_keys.append(salted(running[same_text], n))
    return merged(all_rows, all_keys)


def word_hashes(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Polynomial hash sum_i c_i P^(end-1-i) of each word ``codes[start:end]``.

    With R = P^-1 (mod 2**64), sum_{i<e} c_i R^i is a prefix sum, and
    (prefix[e] - prefix[s]) * P^(e-1) is the word's hash: no loop over words. A word
    never starts at index 0 (every padded text starts with a space), so the prefix
    before it is ``cumulative[start - 1]``.
    """
    powers, inverse_powers = _powers(len(codes))
    cumulative = np.cumsum(codes * inverse_powers[: len(codes)], dtype=np.uint64)
    last = ends - 1
    hashes: np.ndarray = (cumulative[last] - cumulative[starts - 1]) * powers[last]
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
    if len(rows) == 1:
        return Hashed(rows[0], keys[0])
    return Hashed(np.concatenate(rows), np.concatenate(keys))


@dataclass(frozen=True)
class Index:
    """What scoring needs of a vocabulary: the lookup table and the idf by column.

    ``split`` (a combined index of two families): columns below it are characters, the
    others words, each family L2-normalised on its own.
    """

    table: HashTable
    idf: np.ndarray  # float32, by column
    split: int | None = None

    def __len__(self) -> int:
        return len(self.idf)

    def lookup(self, hashed: Hashed) -> tuple[np.ndarray, np.ndarray]:
        """(rows, columns) of the occurrences whose hash is in the vocabulary."""
        columns = self.table.find(hashed.keys)
        found = columns >= 0
        return hashed.rows[found], columns[found]


@dataclass(frozen=True)
class Vocabulary:
    """One family's n-grams as stored: sorted hashes and their inverse document frequencies."""

    keys: np.ndarray  # uint64, sorted, unique
    idf: np.ndarray  # float32, one per key; a key's column is its position

    def __len__(self) -> int:
        return len(self.keys)

    @cached_property
    def index(self) -> Index:
        """This family alone, indexed (built on first use)."""
        return Index(HashTable.build(self.keys, np.arange(len(self.keys))), self.idf)


WORD_SALT = np.uint64(0x5BD1E9955BD1E995)  # keeps the two families apart in one table


def combined(char: Vocabulary, word: Vocabulary) -> Index:
    """Both families in one table (word hashes salted; a word's column follows the
    characters'): one lookup per batch. ~0.1 s for half a million n-grams."""
    keys = np.concatenate([char.keys, word.keys ^ WORD_SALT])
    table = HashTable.build(keys, np.arange(len(keys)))
    return Index(table, np.concatenate([char.idf, word.idf]), len(char))


def combined_hashes(char: Hashed, word: Hashed) -> Hashed:
    """Both families' occurrences, word hashes salted as in ``combined``."""
    return Hashed(
        np.concatenate([char.rows, word.rows]), np.concatenate([char.keys, word.keys ^ WORD_SALT])
    )


@dataclass(frozen=True)
class SparseRows:
    """TF-IDF values as coordinates: ``values[i]`` at (``rows[i]``, ``columns[i]``)."""

    rows: np.ndarray  # int64, non-decreasing
    columns: np.ndarray  # int64
    values: np.ndarray  # float32


def tfidf(hashed: Hashed, index: Index) -> SparseRows:
    """Sublinear TF-IDF of each row's in-vocabulary n-grams, L2-normalised per row and family.

    Rows come out sorted (and columns within a row).
    """
    rows, columns = index.lookup(hashed)
    width = max(len(index), 1)
    cells, counts = np.unique(rows * width + columns, return_counts=True)
    rows, columns = np.divmod(cells, width)
    values = ((1.0 + np.log(counts)) * np.take(index.idf, columns)).astype(np.float32)
    group = rows if index.split is None else 2 * rows + (columns >= index.split)
    norms = np.sqrt(np.bincount(group, weights=values * values)).astype(np.float32)
    values /= norms[group]
    return SparseRows(rows, columns, values)


@dataclass(frozen=True)
class Featurizer:
    """Texts -> TF-IDF rows over both vocabularies (word columns follow the characters')."""

    char: Vocabulary
    word: Vocabulary
    char_max: int = 4
    word_max: int = 2

    def __len__(self) -> int:
        return len(self.char) + len(self.word)

    @cached_property
    def index(self) -> Index:
        """Both families in one lookup table (built once, on first use)."""
        return combined(self.char, self.word)

    def features(self, texts: Sequence[str]) -> SparseRows:
        """TF-IDF rows of the (normalised) texts, truncated to ``MAX_CHARS`` each."""
        chars, words = hashed_ngrams(truncated(texts), self.char_max, self.word_max)
        return tfidf(combined_hashes(chars, words), self.index)
