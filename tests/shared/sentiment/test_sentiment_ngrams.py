"""Hashed n-gram features, the sparse linear member and log-linear pooling (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from shared.sentiment.hashtable import HashTable
from shared.sentiment.ngram_member import N_OUTPUTS, NgramMember
from shared.sentiment.ngrams import (
    MAX_CHARS,
    PAIR,
    PRIME,
    Featurizer,
    Hashed,
    Vocabulary,
    char_ngrams,
    tfidf,
    truncated,
    word_ngrams,
)
from shared.sentiment.pooling import (
    MemberLogits,
    Pooling,
    from_logits,
    from_probabilities,
    pool,
    sigmoid,
    softmax,
)

TEXTS = [
    "영화 정말 재밌다",
    "",
    "a",
    "ㅋㅋ 굿 굿 굿",
    "최고의 영화 😀",
    "  spaced   out\ttext ",
]
MASK = 2**64 - 1


def poly(text: str) -> int:
    """The reference polynomial hash of a string's code points (modulo 2**64)."""
    value = 0
    for char in text:
        value = (value * int(PRIME) + ord(char)) & MASK
    return value


def salted(value: int, order: int) -> int:
    return (value * int(PRIME) + order) & MASK


def reference_char(text: str, max_n: int) -> list[int]:
    """scikit-learn's char_wb n-grams, hashed the reference way."""
    grams = []
    for word in text.split():
        padded = f" {word} "
        for n in range(1, max_n + 1):
            grams += [padded[i : i + n] for i in range(len(padded) - n + 1)]
    return [salted(poly(g), len(g)) for g in grams]


def reference_word(text: str, max_n: int) -> list[int]:
    words = text.split()
    keys = []
    for n in range(1, max_n + 1):
        for i in range(len(words) - n + 1):
            value = 0
            for word in words[i : i + n]:
                value = (value * int(PAIR) + poly(word)) & MASK
            keys.append(salted(value, n))
    return keys


def keys_of(hashed: Hashed, row: int) -> list[int]:
    return sorted(hashed.keys[hashed.rows == row].tolist())


@pytest.mark.parametrize("max_n", [1, 2, 4])
def test_char_ngrams_are_those_of_padded_words(max_n: int) -> None:
    hashed = char_ngrams(TEXTS, max_n)
    for row, text in enumerate(TEXTS):
        assert keys_of(hashed, row) == sorted(reference_char(text, max_n))


@pytest.mark.parametrize("max_n", [1, 2, 3])
def test_word_ngrams_stay_within_a_text(max_n: int) -> None:
    hashed = word_ngrams(TEXTS, max_n)
    for row, text in enumerate(TEXTS):
        assert keys_of(hashed, row) == sorted(reference_word(text, max_n))


def test_hashes_do_not_depend_on_the_batch() -> None:
    batch = char_ngrams(TEXTS, 4)
    for row, text in enumerate(TEXTS):
        assert keys_of(char_ngrams([text], 4), 0) == keys_of(batch, row)
    assert len(char_ngrams([], 4).keys) == 0 and len(word_ngrams([""], 2).keys) == 0


def test_long_texts_are_truncated() -> None:
    assert [len(t) for t in truncated(["가" * (MAX_CHARS + 50), "짧다"])] == [MAX_CHARS, 2]


def vocabulary_of(hashed: Hashed, size: int) -> Vocabulary:
    keys = np.unique(hashed.keys)[:size]
    idf = np.linspace(1.0, 3.0, len(keys)).astype(np.float32)
    return Vocabulary(keys, idf)


def test_tfidf_is_sublinear_idf_weighted_and_l2_normalised() -> None:
    hashed = word_ngrams(TEXTS, 1)
    vocabulary = vocabulary_of(hashed, 1000)
    sparse = tfidf(hashed, vocabulary.index)
    for row, text in enumerate(TEXTS):
        words = text.split()
        expected: dict[int, float] = {}
        for word in set(words):
            column = int(np.searchsorted(vocabulary.keys, salted(poly(word), 1)))
            expected[column] = (1 + np.log(words.count(word))) * vocabulary.idf[column]
        chosen = sparse.rows == row
        got = dict(
            zip(sparse.columns[chosen].tolist(), sparse.values[chosen].tolist(), strict=True)
        )
        norm = np.sqrt(sum(v * v for v in expected.values())) or 1.0
        assert got == pytest.approx({c: v / norm for c, v in expected.items()}, rel=1e-5)


def test_out_of_vocabulary_ngrams_are_ignored() -> None:
    hashed = char_ngrams(["재밌다 정말"], 2)
    empty = tfidf(hashed, Vocabulary(np.zeros(0, np.uint64), np.zeros(0, np.float32)).index)
    assert len(empty.rows) == 0
    other = vocabulary_of(char_ngrams(["xyz"], 2), 100)  # shares only the padding " "
    sparse = tfidf(hashed, other.index)
    assert sparse.columns.tolist() == [int(np.searchsorted(other.keys, salted(poly(" "), 1)))]
    assert sparse.values.tolist() == [1.0]


def random_member(seed: int = 0) -> NgramMember:
    rng = np.random.default_rng(seed)
    char = vocabulary_of(char_ngrams(TEXTS, 4), 60)
    word = vocabulary_of(word_ngrams(TEXTS, 2), 10)
    weights = rng.normal(size=(len(char) + len(word), N_OUTPUTS)).astype(np.float32)
    bias = rng.normal(size=N_OUTPUTS).astype(np.float32)
    return NgramMember(Featurizer(char, word), weights, bias)


def test_member_logits_are_bias_plus_the_weighted_features() -> None:
    member = random_member()
    featurizer = member.featurizer
    chars = tfidf(char_ngrams(TEXTS, 4), featurizer.char.index)
    words = tfidf(word_ngrams(TEXTS, 2), featurizer.word.index)
    dense = np.zeros((len(TEXTS), len(featurizer)))
    dense[chars.rows, chars.columns] = chars.values
    dense[words.rows, words.columns + len(featurizer.char)] = words.values
    combined = featurizer.features(TEXTS)  # one lookup over both families, same values
    together = np.zeros_like(dense)
    together[combined.rows, combined.columns] = combined.values
    assert together == pytest.approx(dense, abs=1e-6)
    expected = member.bias + dense @ member.weights
    assert member.logits(TEXTS) == pytest.approx(expected, abs=1e-5)
    assert member.logits([""])[0] == pytest.approx(member.bias)
    singles = np.vstack([member.logits([t]) for t in TEXTS])
    assert singles == pytest.approx(member.logits(TEXTS), abs=1e-6)
    many = TEXTS * 30  # more than one chunk
    assert member.logits(many) == pytest.approx(np.tile(expected, (30, 1)), abs=1e-5)


def test_member_round_trips_through_bytes_with_float16_weights() -> None:
    member = random_member()
    loaded = NgramMember.from_bytes(member.to_bytes())
    assert loaded.featurizer.char_max == 4 and loaded.featurizer.word_max == 2
    assert np.array_equal(loaded.featurizer.char.keys, member.featurizer.char.keys)
    assert loaded.weights == pytest.approx(member.weights, rel=1e-3, abs=1e-3)
    positivity, probs = loaded.probabilities(TEXTS)
    assert np.all((positivity > 0) & (positivity < 1))
    assert probs.sum(axis=1) == pytest.approx(np.ones(len(TEXTS)))


def test_malformed_members_are_refused() -> None:
    member = random_member()
    bad = NgramMember(member.featurizer, member.weights[:-1], member.bias)
    with pytest.raises(ValueError):
        NgramMember.from_bytes(bad.to_bytes())
    with pytest.raises(ValueError):
        NgramMember.from_bytes(b"not an npz")


def test_pooling_is_log_linear() -> None:
    rng = np.random.default_rng(1)
    positivity = rng.uniform(0.01, 0.99, size=(2, 5))
    probs = rng.dirichlet(np.ones(10), size=(2, 5))
    members = [from_probabilities(positivity[i], probs[i]) for i in range(2)]
    alone, alone_probs = pool(members[:1], [1.0], [1.0])
    assert alone == pytest.approx(positivity[0]) and alone_probs == pytest.approx(probs[0])
    pooled, pooled_probs = Pooling(("model.onnx", "ngram.npz"), (0.7, 0.5), (1.0, 0.3)).pool(
        members
    )
    z = 0.7 * np.log(positivity[0] / (1 - positivity[0])) + 0.5 * np.log(
        positivity[1] / (1 - positivity[1])
    )
    assert pooled == pytest.approx(1 / (1 + np.exp(-z)))
    expected = probs[0] * probs[1] ** 0.3
    assert pooled_probs == pytest.approx(expected / expected.sum(axis=1, keepdims=True))
    # rating logits and log-probabilities pool alike (softmax ignores per-row shifts)
    shifted = MemberLogits(members[1].positivity, members[1].rating + 5.0)
    assert pool([members[0], shifted], [1, 1], [1, 1])[1] == pytest.approx(
        pool(members, [1, 1], [1, 1])[1]
    )
    assert sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist() == [0.0, 0.5, 1.0]
    # logits straight into the log domain: the same as through the probabilities
    z = np.array([-40.0, -3.0, 0.0, 2.5, 40.0])
    r = rng.normal(scale=8.0, size=(5, 10))
    direct, round_trip = from_logits(z, r), from_probabilities(sigmoid(z), softmax(r))
    assert direct.positivity == pytest.approx(round_trip.positivity, abs=1e-6)
    assert direct.rating == pytest.approx(round_trip.rating, abs=1e-6)
    assert softmax(np.array([[1000.0, 0.0]])) == pytest.approx(np.array([[1.0, 0.0]]))


@pytest.mark.parametrize(
    "data",
    [
        {"members": ["model.onnx"], "positivity_weights": [1], "rating_weights": [1]},
        {
            "members": ["model.onnx", "ngram.npz"],
            "positivity_weights": [1],
            "rating_weights": [1, 1],
        },
        {
            "members": ["model.onnx", "ngram.npz"],
            "positivity_weights": [1, -1],
            "rating_weights": [1, 1],
        },
        {"members": ["model.onnx", "ngram.npz"], "positivity_weights": [1, 1]},
    ],
)
def test_invalid_poolings_are_refused(data: dict[str, object]) -> None:
    with pytest.raises((ValueError, KeyError)):
        Pooling.from_dict(data)


@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_hash_table_finds_every_key_and_nothing_else(n: int) -> None:
    rng = np.random.default_rng(n)
    keys = np.unique(rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2))
    columns = rng.permutation(len(keys))
    table = HashTable.build(keys, columns)
    assert table.find(keys).tolist() == columns.tolist()
    absent = keys + np.uint64(1)  # odd: never a key
    assert (table.find(absent) == -1).all()
    # the largest home slots overflow past the power-of-two range, never wrap
    crowded = np.full(1, table.size - 1, dtype=np.int64)
    assert len(table.keys) >= table.size and table.home(keys).max(initial=0) <= crowded[0]
