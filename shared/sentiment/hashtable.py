"""An open-addressing hash table over 64-bit n-gram hashes, built and probed per batch.

The n-gram member's vocabulary lookup (``shared.sentiment.ngrams``): one vectorised probe
round per collision step instead of a binary search per query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIX = np.uint64(0xD6E8FEB86659FD93)  # odd multiplier: Fibonacci hashing into table slots


@dataclass(frozen=True)
class HashTable:
    """Open addressing with linear probing over 64-bit keys, probed for a batch at once.

    A sorted array's binary search costs ~20 dependent cache misses per query on a
    vocabulary of this size; a table at most half full costs one or two.
    """

    keys: np.ndarray  # uint64, one per slot
    columns: np.ndarray  # int32, -1 for an empty slot
    max_probes: int
    size: int  # home slots (a power of two); the arrays are longer by the overflow

    @property
    def shift(self) -> np.uint64:
        return np.uint64(64 - (self.size.bit_length() - 1))

    def home(self, keys: np.ndarray) -> np.ndarray:
        slots: np.ndarray = ((keys * MIX) >> self.shift).astype(np.int64)
        return slots

    @classmethod
    def build(cls, keys: np.ndarray, columns: np.ndarray) -> HashTable:
        """Keys inserted in the order of their home slots, all at once.

        Inserted that way, linear probing puts the i-th key at
        ``p_i = max(h_i, p_(i-1) + 1)``, i.e. ``i + cummax(h_j - j)``. Slots past the
        power-of-two range take the overflow (no wrap-around), followed by one empty
        slot, so every probe sequence ends inside the arrays.
        """
        size = 16
        while size < 2 * len(keys):
            size *= 2
        shift = np.uint64(64 - (size.bit_length() - 1))
        home = ((keys * MIX) >> shift).astype(np.int64)
        order = np.argsort(home, kind="stable")
        rank = np.arange(len(keys))
        position = rank + np.maximum.accumulate(home[order] - rank) if len(keys) else rank
        length = max(size, int(position.max(initial=0)) + 2)
        table_keys = np.zeros(length, np.uint64)
        table_columns = np.full(length, -1, np.int32)
        table_keys[position], table_columns[position] = keys[order], columns[order]
        probes = int((position - home[order]).max(initial=0)) + 1
        return cls(table_keys, table_columns, probes, size)

    def find(self, queries: np.ndarray) -> np.ndarray:
        """The column of each query key, or -1."""
        slots = self.home(queries)
        columns = np.take(self.columns, slots)
        hit = (np.take(self.keys, slots) == queries) & (columns >= 0)
        found = np.where(hit, columns, -1).astype(np.int64)
        pending = np.flatnonzero((columns >= 0) & ~hit)  # an empty slot ends the probe
        slots = slots[pending]
        for _ in range(1, self.max_probes):
            if not len(pending):
                break
            slots = slots + 1
            columns = np.take(self.columns, slots)
            hit = (np.take(self.keys, slots) == queries[pending]) & (columns >= 0)
            found[pending[hit]] = columns[hit]
            more = (columns >= 0) & ~hit
            pending, slots = pending[more], slots[more]
        return found
