"""The bounded memory identity keeps per instance: fresh entries only, least recently used
forgotten first."""

from __future__ import annotations

from shared.identity.remembered import Remembered


def always(_: int) -> bool:
    return True


def test_a_stale_entry_is_not_given_back() -> None:
    memory: Remembered[str, int] = Remembered(4)
    memory.put("a", 1)
    assert memory.get("a", always) == 1
    assert memory.get("a", lambda value: value > 1) is None
    assert memory.get("b", always) is None


def test_the_least_recently_used_entry_is_forgotten_first() -> None:
    memory: Remembered[str, int] = Remembered(2)
    memory.put("a", 1)
    memory.put("b", 2)
    assert memory.get("a", always) == 1  # "a" is now the more recent
    memory.put("c", 3)
    assert [memory.get(key, always) for key in "abc"] == [1, None, 3]
